"""One module per revision, NNNN_what_changes.py, applied in order of `down_revision` (Alembic skips this file)."""
