from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, create_engine, delete, event, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..datasets import Dataset, DatasetSpec
from ..errors import AlreadyExists, EtagMismatch, NotFound
from ._evaluations import EvaluationRecords
from ._migrate import upgrade
from ._models import ModelRecords
from ._tables import DatasetRow

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    more: bool  # whether records follow this page


def _now() -> datetime:
    return datetime.now(UTC)


def _new_etag() -> str:
    return uuid.uuid4().hex


class Store(ModelRecords, EvaluationRecords):
    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def connect(cls, url: str) -> Store:
        """Open (and create the tables of) the database at `url` (Settings.resolved_database_url): sqlite:///path
        or postgresql+psycopg://..."""
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        upgrade(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    _now = staticmethod(_now)

    @staticmethod
    def _utc(moment: datetime) -> datetime:
        return _utc(moment)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    # Datasets -------------------------------------------------------------------------------------------------

    def insert_dataset(self, name: str, spec: DatasetSpec) -> Dataset:
        now = _now()
        row = DatasetRow(name=name, created_at=now, updated_at=now, etag=_new_etag(), **_spec_columns(spec))
        try:
            with self._session() as session:
                session.add(row)
        except IntegrityError:
            raise AlreadyExists("dataset", name) from None
        return _dataset(row)

    def get_dataset(self, name: str) -> Dataset:
        with self._session() as session:
            row = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
            if row is None:
                raise NotFound("dataset", name)
            return _dataset(row)

    def list_datasets(self, skip: int, top: int) -> Page[Dataset]:
        with self._session() as session:
            rows = session.scalars(
                select(DatasetRow).order_by(DatasetRow.created_at, DatasetRow.id).offset(skip).limit(top + 1)
            ).all()
            return Page([_dataset(r) for r in rows[:top]], more=len(rows) > top)

    def count_datasets(self) -> int:
        with self._session() as session:
            return session.scalar(select(func.count()).select_from(DatasetRow)) or 0

    def replace_dataset(self, name: str, spec: DatasetSpec, if_match: str | None) -> Dataset:
        """Store `spec` as the dataset's new content: only if its eTag is still `if_match`, when given."""
        values: dict[str, Any] = {**_spec_columns(spec), "updated_at": _now(), "etag": _new_etag()}
        with self._session() as session:
            condition = DatasetRow.name == name
            if if_match is not None:
                condition &= DatasetRow.etag == if_match
            done = session.execute(update(DatasetRow).where(condition).values(**values))
            if done.rowcount == 0:
                self._raise_missing_or_changed(session, name)
            row = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
            assert row is not None
            return _dataset(row)

    def delete_dataset(self, name: str, if_match: str | None) -> None:
        with self._session() as session:
            condition = DatasetRow.name == name
            if if_match is not None:
                condition &= DatasetRow.etag == if_match
            if session.execute(delete(DatasetRow).where(condition)).rowcount == 0:
                self._raise_missing_or_changed(session, name)

    @staticmethod
    def _raise_missing_or_changed(session: Session, name: str) -> None:
        if session.scalar(select(DatasetRow.id).where(DatasetRow.name == name)) is None:
            raise NotFound("dataset", name)
        raise EtagMismatch("dataset", name)


def _spec_columns(spec: DatasetSpec) -> dict[str, Any]:
    return {
        "annotation_kind": spec.annotation_kind.value,
        "annotation_file_uris": list(spec.annotation_file_uris),
        "custom_properties": dict(spec.custom_properties),
        "auth_kind": spec.access.kind.value,
        "sas_token": spec.access.sas_token,
    }


def _dataset(row: DatasetRow) -> Dataset:
    return Dataset.from_columns(
        name=row.name,
        annotation_kind=row.annotation_kind,
        annotation_file_uris=row.annotation_file_uris,
        custom_properties=row.custom_properties,
        auth_kind=row.auth_kind,
        sas_token=row.sas_token,
        created=_utc(row.created_at),
        updated=_utc(row.updated_at),
        etag=row.etag,
    )


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
