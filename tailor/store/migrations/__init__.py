"""The metadata store's schema history: Alembic revisions, run by tailor.store._migrate on every Store.connect.

To change a table: edit tailor/store/_tables.py, then write the next revision in versions/, named
`NNNN_what_changes.py` with `revision = "NNNN"` and `down_revision` the previous number (`python -m
tailor.store.migrations "what changes"` drafts it from the difference with _tables.py). tests/store/test_migrations.py
fails while _tables.py and the revisions disagree.
"""
