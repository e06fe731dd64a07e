"""Evaluation records. As with models, status changes are compare-and-set on the current status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..enums import EvaluationFailureCode, EvaluationStatus
from ..errors import AlreadyExists, NotFound
from ..evaluations import Evaluation, EvaluationError
from ._tables import EvaluationRow

if TYPE_CHECKING:
    from ._store import Page

ACTIVE = (EvaluationStatus.NOT_STARTED.value, EvaluationStatus.RUNNING.value)


class EvaluationRecords:
    """Mixed into Store: the evaluation part of the metadata store."""

    def insert_evaluation(self, model_name: str, name: str, test_dataset_name: str) -> Evaluation:
        now = self._now()
        row = EvaluationRow(
            model_name=model_name, name=name, test_dataset_name=test_dataset_name,
            status=EvaluationStatus.NOT_STARTED.value, created_at=now, updated_at=now, attempt=0,
        )
        try:
            with self._session() as session:
                session.add(row)
        except IntegrityError:
            raise AlreadyExists("evaluation", name) from None
        return _evaluation(row, self._utc)

    def get_evaluation(self, model_name: str, name: str) -> Evaluation:
        with self._session() as session:
            row = session.scalar(_one(model_name, name))
            if row is None:
                raise NotFound("evaluation", name)
            return _evaluation(row, self._utc)

    def list_evaluations(self, model_name: str, skip: int, top: int) -> Page[Evaluation]:
        from ._store import Page

        with self._session() as session:
            rows = session.scalars(
                select(EvaluationRow).where(EvaluationRow.model_name == model_name)
                .order_by(EvaluationRow.created_at, EvaluationRow.id).offset(skip).limit(top + 1)
            ).all()
            return Page([_evaluation(r, self._utc) for r in rows[:top]], more=len(rows) > top)

    def unfinished_evaluations(self) -> list[tuple[str, str]]:
        """(model, evaluation) of every evaluation not yet succeeded or failed, oldest first."""
        with self._session() as session:
            rows = session.execute(
                select(EvaluationRow.model_name, EvaluationRow.name)
                .where(EvaluationRow.status.in_(ACTIVE)).order_by(EvaluationRow.id)
            ).all()
            return [(model, name) for model, name in rows]

    def active_evaluations_of(self, model_name: str) -> list[str]:
        with self._session() as session:
            return list(session.scalars(
                select(EvaluationRow.name)
                .where(EvaluationRow.model_name == model_name, EvaluationRow.status.in_(ACTIVE))
                .order_by(EvaluationRow.id)
            ))

    def move_evaluation(
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
        values.update(status=to_status.value, updated_at=self._now())
        condition = (
            (EvaluationRow.model_name == model_name) & (EvaluationRow.name == name)
            & (EvaluationRow.status == from_status.value)
        )
        if expected_attempt is not None:
            condition &= EvaluationRow.attempt == expected_attempt
        with self._session() as session:
            if session.execute(update(EvaluationRow).where(condition).values(**values)).rowcount == 0:
                return None
            return _evaluation(session.scalar(_one(model_name, name)), self._utc)

    def delete_evaluation(self, model_name: str, name: str, expected_status: EvaluationStatus) -> None:
        with self._session() as session:
            row = session.scalar(_one(model_name, name).where(EvaluationRow.status == expected_status.value))
            if row is None:
                raise NotFound("evaluation", name)
            session.delete(row)


def _one(model_name: str, name: str):
    return select(EvaluationRow).where(EvaluationRow.model_name == model_name, EvaluationRow.name == name)


def _evaluation(row: EvaluationRow, utc) -> Evaluation:
    return Evaluation(
        name=row.name,
        model_name=row.model_name,
        test_dataset_name=row.test_dataset_name,
        status=EvaluationStatus(row.status),
        created=utc(row.created_at),
        updated=utc(row.updated_at),
        performance=row.performance,
        error=EvaluationError(EvaluationFailureCode(row.error_code), row.error_message or "") if row.error_code else None,
        report=row.report,
        attempt=row.attempt,
    )
