"""The metadata store: datasets, models, evaluations and Custom Vision projects in SQLite or PostgreSQL, through
SQLAlchemy.

    Store.connect(url, secrets)               _store.py: the engine and its tables; one Store per process
    ├── .datasets      DatasetRecords(db, box) _datasets.py; the SAS tokens sealed by the box: _credentials.py
    ├── .models        ModelRecords(db)       _models.py
    ├── .evaluations   EvaluationRecords(db)  _evaluations.py
    └── .projects      ProjectRecords(db)     _projects.py: Custom Vision's projects, tags, images, iterations
    db: Database                              _database.py: session() (one transaction), now(), utc(); and the
                                              helpers compare_and_set(session, Row, where, values), page(...)
    the tables                                _tables.py

Each repository is built with the one Database and nothing else (the datasets also with the SecretBox of
tailor.secrets: the credentials they keep are encrypted in the table); every method is one short transaction. Names
are unique in the database itself, so two concurrent creations of one name cannot both succeed. A write that depends on
what was read (a status change, a delete in the status it was read in, a change under an eTag) is one
compare_and_set: when the row changed in between it misses (the method answers None or raises) instead of
overwriting. A worker's writes to a model or an evaluation (progress, bill, final state) are fenced the same way on
its attempt: once another attempt has replaced it, they miss. Failures are tailor.errors: AlreadyExists, NotFound,
EtagMismatch.

A new kind of record: its table in _tables.py, one `_<things>.py` with a `ThingRecords(db)` class whose methods
read well after its attribute (`store.things.get(name)`, `.insert`, `.list`, `.move`, ...), and one line in
`Store.__init__`.

May import: tailor.records, tailor.enums, tailor.errors, tailor.secrets, and Custom Vision's records and
vocabulary (tailor.customvision.records, tailor.customvision.codes); never a service.
"""

from ._database import Page
from ._store import Store

__all__ = ["Page", "Store"]
