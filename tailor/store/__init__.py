"""The metadata store: datasets (and later models and evaluations) in SQLite or PostgreSQL, through SQLAlchemy.

One `Store` per process; every method is a short transaction. Names are unique in the database itself, so two
concurrent creations of one name cannot both succeed. Failures are tailor.errors: AlreadyExists, NotFound,
EtagMismatch.
"""

from ._store import Page, Store

__all__ = ["Page", "Store"]
