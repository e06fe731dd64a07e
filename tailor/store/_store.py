from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text

from ..secrets import SecretBox
from ._database import Database
from ._datasets import DatasetRecords
from ._evaluations import EvaluationRecords
from ._migrate import exclusively, upgrade
from ._models import ModelRecords
from ._projects import ProjectRecords


class Store:
    """The repositories, one per kind of record, over one database."""

    def __init__(self, engine: Engine, secrets: SecretBox | None = None):
        self.engine = engine
        db = Database(engine)
        self.datasets = DatasetRecords(db, secrets or SecretBox(()))  # seals the SAS tokens it keeps
        self.models = ModelRecords(db)
        self.evaluations = EvaluationRecords(db)
        self.projects = ProjectRecords(db)  # Custom Vision's projects, tags, images and iterations

    @classmethod
    def connect(cls, url: str, secrets: SecretBox | None = None) -> Store:
        """Open the database at `url` (Settings.resolved_database_url: sqlite:///path or postgresql+psycopg://...),
        its schema first brought to the newest revision (tailor/store/_migrate.py). `secrets` (resolve_secret_box)
        seals and opens the credentials kept in it; without it, storing or reading a sealed one fails, and so does
        migrating a database whose tokens are still in plain text."""
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        box = secrets or SecretBox(())
        upgrade(engine, box)
        return cls(engine, box)

    def ping(self) -> None:
        """One `SELECT 1`: raises (SQLAlchemy's error) when the database cannot be reached now."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    @contextmanager
    def exclusively(self) -> Iterator[None]:
        """One process at a time in here, across hosts (PostgreSQL's lock that migrations take): for schema work
        that others do in the same database, such as Optuna creating its tables."""
        with exclusively(self.engine):
            yield

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
