"""Dataset records. A change or a delete can be made conditional on the eTag the caller read. The credentials among
the columns (tailor.store._credentials) are sealed with the store's SecretBox on the way in and opened on the way
out: a Dataset holds them in plain text, the table never does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import AlreadyExists, EtagMismatch, NotFound, SecretUnreadable
from ..records import Dataset, DatasetSpec
from ..secrets import PREFIX, SecretBox, SecretKeyError
from ._credentials import holds_credentials, opened, resealed, sealed
from ._database import DELETE, Database, Page, compare_and_set, page, utc
from ._tables import DatasetRow


@dataclass(frozen=True)
class Resealed:
    """What DatasetRecords.reseal did: the datasets whose credentials it sealed again, and those no key opens."""

    datasets: int
    unreadable: list[str]


class DatasetRecords:
    def __init__(self, db: Database, box: SecretBox):
        self._db = db
        self._box = box

    def insert(self, name: str, spec: DatasetSpec) -> Dataset:
        now = self._db.now()
        row = DatasetRow(name=name, created_at=now, updated_at=now, etag=_new_etag(), **self._columns(spec))
        try:
            with self._db.session() as session:
                session.add(row)
        except IntegrityError:
            raise AlreadyExists("dataset", name) from None
        return self._dataset(row)

    def get(self, name: str) -> Dataset:
        with self._db.session() as session:
            row = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
            if row is None:
                raise NotFound("dataset", name)
            return self._dataset(row)

    def list(self, skip: int, top: int) -> Page[Dataset]:
        with self._db.session() as session:
            query = select(DatasetRow).order_by(DatasetRow.created_at, DatasetRow.id)
            return page(session, query, skip, top, self._dataset)

    def count(self) -> int:
        with self._db.session() as session:
            return session.scalar(select(func.count()).select_from(DatasetRow)) or 0

    def replace(self, name: str, spec: DatasetSpec, if_match: str | None) -> Dataset:
        """Store `spec` as the dataset's new content: only if its eTag is still `if_match`, when given."""
        values: dict[str, Any] = {**self._columns(spec), "updated_at": self._db.now(), "etag": _new_etag()}
        with self._db.session() as session:
            if not compare_and_set(session, DatasetRow, _matching(name, if_match), values):
                _raise_missing_or_changed(session, name)
            row = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
            assert row is not None
            return self._dataset(row)

    def delete(self, name: str, if_match: str | None) -> None:
        with self._db.session() as session:
            if not compare_and_set(session, DatasetRow, _matching(name, if_match), DELETE):
                _raise_missing_or_changed(session, name)

    def reseal(self) -> Resealed:
        """Seal every dataset's credentials again with the first key (`tailor secrets rotate`). Each dataset is read,
        then written back by a compare-and-set on the eTag it had (which resealing keeps: the dataset did not
        change): one changed in between is read again, so a newer token is never overwritten by an older one."""
        with self._db.session() as session:
            ids = session.scalars(select(DatasetRow.id).order_by(DatasetRow.id)).all()
        done, unreadable = 0, []
        for row_id in ids:
            while True:
                with self._db.session() as session:
                    row = session.get(DatasetRow, row_id)
                if row is None or not holds_credentials(row.sas_token, row.annotation_file_uris):
                    break  # deleted meanwhile, or nothing to seal
                try:
                    token, uris = resealed(self._box, row.sas_token, row.annotation_file_uris, _owner(row.name))
                except SecretUnreadable:
                    unreadable.append(row.name)
                    break
                current = (DatasetRow.id == row_id) & (DatasetRow.etag == row.etag)
                values = {"sas_token": token, "annotation_file_uris": uris}
                with self._db.session() as session:
                    if compare_and_set(session, DatasetRow, current, values):
                        done += 1
                        break
        return Resealed(done, unreadable)

    def check_secrets(self) -> None:
        """Refuse (SecretKeyError) a box that cannot open the most recently sealed token: a process started with
        the wrong TAILOR_SECRET_KEY stops at once, rather than failing every request that reads a dataset."""
        if self._box.key_count == 0:
            return
        with self._db.session() as session:
            row = session.execute(
                select(DatasetRow.name, DatasetRow.sas_token).where(DatasetRow.sas_token.startswith(PREFIX))
                .order_by(DatasetRow.updated_at.desc(), DatasetRow.id.desc()).limit(1)
            ).first()
        if row is None:
            return
        try:
            self._box.open(row.sas_token, _owner(row.name))
        except SecretUnreadable:
            raise SecretKeyError(
                f"TAILOR_SECRET_KEY does not open the SAS tokens in this database (the newest, of dataset "
                f"{row.name!r}, was encrypted with another key): give every process the key they were encrypted "
                "with (while rotating, the new key first and the old one after it)"
            ) from None

    def _columns(self, spec: DatasetSpec) -> dict[str, Any]:
        token, uris = sealed(self._box, spec.access.sas_token, spec.annotation_file_uris)
        return {
            "annotation_kind": spec.annotation_kind.value,
            "annotation_file_uris": uris,
            "custom_properties": dict(spec.custom_properties),
            "auth_kind": spec.access.kind.value,
            "sas_token": token,
        }

    def _dataset(self, row: DatasetRow) -> Dataset:
        token, uris = opened(self._box, row.sas_token, row.annotation_file_uris, _owner(row.name))
        return Dataset.from_columns(
            name=row.name,
            annotation_kind=row.annotation_kind,
            annotation_file_uris=uris,
            custom_properties=row.custom_properties,
            auth_kind=row.auth_kind,
            sas_token=token,
            created=utc(row.created_at),
            updated=utc(row.updated_at),
            etag=row.etag,
        )


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


def _owner(name: str) -> str:
    return f"dataset {name!r}"
