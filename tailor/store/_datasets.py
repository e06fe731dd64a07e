"""Dataset records. A change or a delete can be made conditional on the eTag the caller read."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..datasets import Dataset, DatasetSpec
from ..errors import AlreadyExists, EtagMismatch, NotFound
from ._database import DELETE, Database, Page, compare_and_set, page, utc
from ._tables import DatasetRow


class DatasetRecords:
    def __init__(self, db: Database):
        self._db = db

    def insert(self, name: str, spec: DatasetSpec) -> Dataset:
        now = self._db.now()
        row = DatasetRow(name=name, created_at=now, updated_at=now, etag=_new_etag(), **_spec_columns(spec))
        try:
            with self._db.session() as session:
                session.add(row)
        except IntegrityError:
            raise AlreadyExists("dataset", name) from None
        return _dataset(row)

    def get(self, name: str) -> Dataset:
        with self._db.session() as session:
            row = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
            if row is None:
                raise NotFound("dataset", name)
            return _dataset(row)

    def list(self, skip: int, top: int) -> Page[Dataset]:
        with self._db.session() as session:
            return page(session, select(DatasetRow).order_by(DatasetRow.created_at, DatasetRow.id), skip, top, _dataset)

    def count(self) -> int:
        with self._db.session() as session:
            return session.scalar(select(func.count()).select_from(DatasetRow)) or 0

    def replace(self, name: str, spec: DatasetSpec, if_match: str | None) -> Dataset:
        """Store `spec` as the dataset's new content: only if its eTag is still `if_match`, when given."""
        values: dict[str, Any] = {**_spec_columns(spec), "updated_at": self._db.now(), "etag": _new_etag()}
        with self._db.session() as session:
            if not compare_and_set(session, DatasetRow, _matching(name, if_match), values):
                _raise_missing_or_changed(session, name)
            row = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
            assert row is not None
            return _dataset(row)

    def delete(self, name: str, if_match: str | None) -> None:
        with self._db.session() as session:
            if not compare_and_set(session, DatasetRow, _matching(name, if_match), DELETE):
                _raise_missing_or_changed(session, name)


def _matching(name: str, if_match: str | None) -> ColumnElement[bool]:
    condition = DatasetRow.name == name
    if if_match is not None:
        condition &= DatasetRow.etag == if_match
    return condition


def _raise_missing_or_changed(session: Session, name: str) -> None:
    if session.scalar(select(DatasetRow.id).where(DatasetRow.name == name)) is None:
        raise NotFound("dataset", name)
    raise EtagMismatch("dataset", name)


def _new_etag() -> str:
    return uuid.uuid4().hex


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
        created=utc(row.created_at),
        updated=utc(row.updated_at),
        etag=row.etag,
    )
