"""Alembic's entry point for Tailor's revisions. tailor.store._migrate runs it on a connection it has locked and
begun (config.attributes["connection"]), so Alembic neither opens nor commits a transaction of its own."""

from __future__ import annotations

from alembic import context

from tailor.store._migrate import VERSION_TABLE, ours
from tailor.store._tables import Base

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=Base.metadata,  # what autogenerate compares the database with
    version_table=VERSION_TABLE,
    include_name=ours,
    # SQLite alters a column only by copying its table: drafted revisions use batch operations, which do that there
    # and plain ALTERs on PostgreSQL.
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
