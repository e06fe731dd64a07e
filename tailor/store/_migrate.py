"""Brings a metadata database to the newest schema revision (tailor/store/migrations), once per Store.connect.

The API and the workers all start through Store.connect, often at once on one database: the upgrade runs under a
database lock (PostgreSQL: a transaction-level advisory lock; SQLite: BEGIN IMMEDIATE, its single writer's lock), so
one process migrates and the others, once they have the lock, find the database at head and do nothing. Inside that
transaction the work is all-or-nothing: both databases roll DDL back with the transaction.

Optuna keeps its studies in the same database and runs Alembic too, with the default `alembic_version` table: ours is
VERSION_TABLE, so neither sees the other's history, and `ours` keeps Optuna's tables out of autogenerate.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, func, inspect, select
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from ..secrets import SecretBox

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "tailor_schema_version"
# The revision that is the schema create_all made before there were migrations (versions/0001_landed_schema.py).
LANDED = "0001"
# Any fixed 64-bit number, the same in every process: pg_advisory_xact_lock's key for "migrating Tailor's schema".
_LOCK_KEY = 0x7A11_0125_C4E3_0001
# How long a process waits for another's upgrade on SQLite before giving up (sqlite3's busy timeout, in seconds).
_SQLITE_WAIT_S = 600

# Tables in the same database that are not Tailor's: Optuna's study storage (optuna.storages._rdb.models) and its
# Alembic version table. tests/store/test_migrations.py checks the list against the installed Optuna.
FOREIGN_TABLES = frozenset({
    "alembic_version", "version_info", "studies", "study_directions", "study_user_attributes",
    "study_system_attributes", "trials", "trial_params", "trial_values", "trial_intermediate_values",
    "trial_heartbeats", "trial_user_attributes", "trial_system_attributes",
})


def upgrade(engine: Engine, secrets: SecretBox | None = None) -> None:
    """Migrate the database behind `engine` to head: every revision for a new one; a database made before there were
    migrations (tables but no version) is stamped at LANDED first; one already at head costs one query, no lock.
    `secrets` is for the revisions that seal what was stored in plain text (0003)."""
    heads = set(_script().get_heads())
    if _sqlite_file(engine):
        _switch_to_wal(cast(str, engine.url.database))  # _sqlite_file saw that it names a file
    with engine.connect() as connection:
        if set(_current(connection)) == heads:
            return
    with _locked(engine) as connection:
        current = _current(connection)  # again: another process may have migrated while this one waited
        unknown = set(current) - {script.revision for script in _script().walk_revisions()}
        if unknown:
            raise RuntimeError(
                f"the metadata database is at schema revision {', '.join(sorted(unknown))}, which this version of "
                f"Tailor does not know (its newest is {', '.join(sorted(heads))}): run a newer Tailor"
            )
        if not current and inspect(connection).has_table("datasets"):
            command.stamp(config(connection), _adopted(connection))
        command.upgrade(config(connection, secrets), "head")


def _adopted(connection: Connection) -> str:
    """The revision a database without a version is at: the landed schema, unless it has every table of the newest
    (a version table emptied by hand)."""
    from ._tables import Base

    missing = set(Base.metadata.tables) - set(inspect(connection).get_table_names())
    return LANDED if missing else head()


def current_revisions(engine: Engine) -> tuple[str, ...]:
    """The revisions the database is at (one, or none before the first upgrade)."""
    with engine.connect() as connection:
        return _current(connection)


def head() -> str:
    return _script().get_current_head() or ""


def ours(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's include_name: autogenerate compares Tailor's tables only, never Optuna's."""
    return not (type_ == "table" and name in FOREIGN_TABLES)


def _current(connection: Connection) -> tuple[str, ...]:
    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_heads()


@functools.cache
def _script() -> ScriptDirectory:
    # Read once per process: the revisions of an installed Tailor do not change while it runs.
    return ScriptDirectory.from_config(config(None))


def config(connection: Connection | None, secrets: SecretBox | None = None) -> Config:
    """Alembic's configuration, built here rather than read from an alembic.ini: the scripts are package data. A
    revision finds the connection, and the SecretBox when it needs one, in `config.attributes`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")  # versions/0002_what_changes.py
    config.attributes["connection"] = connection
    config.attributes["secrets"] = secrets
    return config


@contextmanager
def exclusively(engine: Engine) -> Iterator[None]:
    """The migration lock held while the caller works through connections of its own (PostgreSQL). On SQLite,
    nothing: its file lock already serialises writers, and holding it here would block the caller's own."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with _locked(engine):
        yield


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the database's migration lock until it commits or rolls back."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
            yield connection
    elif _sqlite_file(engine):
        sqlite = _sqlite_writer(engine)
        try:
            with sqlite.begin() as connection:
                yield connection
        finally:
            sqlite.dispose()
    else:  # an in-memory SQLite database belongs to this process alone
        with engine.begin() as connection:
            yield connection


def _sqlite_writer(engine: Engine) -> Engine:
    """An engine of its own on the same file whose transactions begin with BEGIN IMMEDIATE: that takes SQLite's write
    lock at once (a second process waits there), and puts the DDL inside the transaction, which Python's sqlite3
    would otherwise run outside one (it begins transactions only before INSERT, UPDATE and DELETE)."""
    writer = create_engine(engine.url, poolclass=NullPool, connect_args={"timeout": _SQLITE_WAIT_S})

    @event.listens_for(writer, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # sqlite3 leaves transactions to us: the "begin" hook below
        # foreign_keys stays off, unlike the Store's connections: SQLite's ALTER by table copy (Alembic's batch
        # operations) must not check or cascade while the old table is dropped.

    @event.listens_for(writer, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return writer


def _sqlite_file(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


def _switch_to_wal(path: str) -> None:
    """Put the file in WAL mode, as every Store connection asks (tailor.store._store), before any of them connects.
    The journal mode is the file's: once it is WAL, asking again is a no-op that never fails. But switching a new
    file needs an exclusive lock that SQLite refuses at once, busy timeout or not, while another connection switches
    it too (processes starting together on a new file): so here, and here only, a refusal is retried."""
    connection = sqlite3.connect(path, timeout=_SQLITE_WAIT_S)
    try:
        for attempt in range(100):
            try:
                connection.execute("PRAGMA journal_mode=WAL").fetchone()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 99:
                    raise
                time.sleep(0.01 * (1 + attempt % 10))
    finally:
        connection.close()
