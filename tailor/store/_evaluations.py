"""Evaluation records. As with models, status changes are compare-and-set on the current status."""

from __future__ import annotations

import builtins  # for the annotations that follow a method named `list`, which hides the builtin there
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.exc import IntegrityError

from ..enums import EvaluationFailureCode, EvaluationStatus
from ..errors import AlreadyExists, NotFound
from ..records import Evaluation, EvaluationError
from ._database import DELETE, Database, Page, compare_and_set, page, utc
from ._tables import EvaluationRow

ACTIVE = (EvaluationStatus.NOT_STARTED.value, EvaluationStatus.RUNNING.value)


class EvaluationRecords:
    def __init__(self, db: Database):
        self._db = db

    def insert(self, model_name: str, name: str, test_dataset_name: str) -> Evaluation:
        now = self._db.now()
        row = EvaluationRow(
            model_name=model_name, name=name, test_dataset_name=test_dataset_name,
            status=EvaluationStatus.NOT_STARTED.value, created_at=now, updated_at=now, attempt=0,
        )
        try:
            with self._db.session() as session:
                session.add(row)
        except IntegrityError:
            raise AlreadyExists("evaluation", name) from None
        return _evaluation(row)

    def get(self, model_name: str, name: str) -> Evaluation:
        with self._db.session() as session:
            row = session.scalar(_one(model_name, name))
            if row is None:
                raise NotFound("evaluation", name)
            return _evaluation(row)

    def list(self, model_name: str, skip: int, top: int) -> Page[Evaluation]:
        query = (
            select(EvaluationRow).where(EvaluationRow.model_name == model_name)
            .order_by(EvaluationRow.created_at, EvaluationRow.id)
        )
        with self._db.session() as session:
            return page(session, query, skip, top, _evaluation)

    def unfinished(self) -> builtins.list[tuple[str, str]]:
        """(model, evaluation) of every evaluation not yet succeeded or failed, oldest first."""
        with self._db.session() as session:
            rows = session.execute(
                select(EvaluationRow.model_name, EvaluationRow.name)
                .where(EvaluationRow.status.in_(ACTIVE)).order_by(EvaluationRow.id)
            ).all()
            return [(model, name) for model, name in rows]

    def active_of(self, model_name: str) -> builtins.list[str]:
        """Names of the model's evaluations not yet succeeded or failed, oldest first."""
        with self._db.session() as session:
            return list(session.scalars(
                select(EvaluationRow.name)
                .where(EvaluationRow.model_name == model_name, EvaluationRow.status.in_(ACTIVE))
                .order_by(EvaluationRow.id)
            ))

    def move(
        self,
        model_name: str,
        name: str,
        from_status: EvaluationStatus,
        to_status: EvaluationStatus,
        *,
        expected_attempt: int | None = None,
        **changes: Any,
    ) -> Evaluation | None:
        """Set the status (and other columns) only if it is still `from_status` (and the attempt still
        `expected_attempt`, when given); None when it was not."""
        values = dict(changes)
        error = values.pop("error", None)
        if error is not None:
            values.update(error_code=error.code.value, error_message=error.message)
        values.update(status=to_status.value, updated_at=self._db.now())
        condition = _key(model_name, name) & (EvaluationRow.status == from_status.value)
        if expected_attempt is not None:
            condition &= EvaluationRow.attempt == expected_attempt
        with self._db.session() as session:
            if not compare_and_set(session, EvaluationRow, condition, values):
                return None
            row = session.scalar(_one(model_name, name))
            assert row is not None  # the write above matched it, in this transaction
            return _evaluation(row)

    def delete(self, model_name: str, name: str, expected_status: EvaluationStatus) -> None:
        """Only while it is still `expected_status`."""
        condition = _key(model_name, name) & (EvaluationRow.status == expected_status.value)
        with self._db.session() as session:
            if not compare_and_set(session, EvaluationRow, condition, DELETE):
                raise NotFound("evaluation", name)


def _key(model_name: str, name: str) -> ColumnElement[bool]:
    return (EvaluationRow.model_name == model_name) & (EvaluationRow.name == name)


def _one(model_name: str, name: str) -> Select[EvaluationRow]:
    return select(EvaluationRow).where(_key(model_name, name))


def _evaluation(row: EvaluationRow) -> Evaluation:
    return Evaluation(
        name=row.name,
        model_name=row.model_name,
        test_dataset_name=row.test_dataset_name,
        status=EvaluationStatus(row.status),
        created=utc(row.created_at),
        updated=utc(row.updated_at),
        performance=row.performance,
        error=EvaluationError(EvaluationFailureCode(row.error_code), row.error_message or "")
        if row.error_code else None,
        report=row.report,
        attempt=row.attempt,
    )
