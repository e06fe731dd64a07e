"""Model records. Status changes are compare-and-set on the current status, so that a cancel and a worker's
transition can never overwrite each other; a worker's writes are also fenced on its attempt, so that an attempt that
another one has replaced (its worker lost its lease but still runs) can never overwrite the newer one's."""

from __future__ import annotations

import builtins  # for the annotations that follow a method named `list`, which hides the builtin there
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ..enums import FailureCode, ModelKind, ModelStatus
from ..errors import AlreadyExists, NotFound
from ..records import Model, TrainingError, TrainingParameters
from ._database import DELETE, Database, Page, compare_and_set, page, utc
from ._tables import EvaluationRow, ModelRow, ModelUsageRow

RUNNING = (ModelStatus.TRAINING.value, ModelStatus.CANCELLING.value)  # an attempt runs: it writes its progress


class ModelRecords:
    def __init__(self, db: Database):
        self._db = db

    def insert(
        self, name: str, training: TrainingParameters, test_dataset_name: str | None, owner: str | None = None
    ) -> Model:
        now = self._db.now()
        row = ModelRow(
            name=name,
            status=ModelStatus.NOT_STARTED.value,
            training_dataset_name=training.training_dataset_name,
            budget_hours=training.time_budget_in_hours,
            model_kind=training.model_kind.value,
            test_dataset_name=test_dataset_name,
            created_at=now,
            updated_at=now,
            attempt=0,
            billed_seconds=0.0,
            progress={},
            owner=owner,
        )
        try:
            with self._db.session() as session:
                session.add(row)
        except IntegrityError:
            raise AlreadyExists("model", name) from None
        return _model(row)

    def get(self, name: str) -> Model:
        with self._db.session() as session:
            row = session.scalar(select(ModelRow).where(ModelRow.name == name))
            if row is None:
                raise NotFound("model", name)
            return _model(row)

    def list(self, skip: int, top: int) -> Page[Model]:
        with self._db.session() as session:
            return page(session, select(ModelRow).order_by(ModelRow.created_at, ModelRow.id), skip, top, _model)

    def budget_hours_of(self, owner: str) -> float:
        """The sum of the budgets of the models created with one key that still exist."""
        with self._db.session() as session:
            total = session.scalar(select(func.sum(ModelRow.budget_hours)).where(ModelRow.owner == owner))
            return float(total or 0.0)

    def names_in(self, statuses: Iterable[ModelStatus]) -> builtins.list[str]:
        with self._db.session() as session:
            wanted = [s.value for s in statuses]
            return list(session.scalars(select(ModelRow.name).where(ModelRow.status.in_(wanted)).order_by(ModelRow.id)))

    def move(
        self,
        name: str,
        from_status: ModelStatus,
        to_status: ModelStatus,
        *,
        expected_attempt: int | None = None,
        **changes: Any,
    ) -> Model | None:
        """Set the status (and other columns) only if it is still `from_status` (and the attempt still
        `expected_attempt`, when given); None when it was not."""
        values = _columns(changes)
        values.update(status=to_status.value, updated_at=self._db.now())
        condition = (ModelRow.name == name) & (ModelRow.status == from_status.value)
        if expected_attempt is not None:
            condition &= ModelRow.attempt == expected_attempt
        with self._db.session() as session:
            if not compare_and_set(session, ModelRow, condition, values):
                return None
            row = session.scalar(select(ModelRow).where(ModelRow.name == name))
            assert row is not None  # the write above matched it, in this transaction
            return _model(row)

    def update(self, name: str, *, attempt: int, **changes: Any) -> bool:
        """Columns that are not the status (progress, the attempt's bill so far), written by the attempt that runs:
        only while the model is training (or cancelling) under `attempt`. False when it is not (a newer attempt
        took the model over, or the training has ended): nothing is written."""
        condition = (ModelRow.name == name) & (ModelRow.attempt == attempt) & ModelRow.status.in_(RUNNING)
        with self._db.session() as session:
            return compare_and_set(session, ModelRow, condition, _columns(changes))

    def delete(self, name: str, expected_status: ModelStatus) -> None:
        """The model, its usage and its evaluations, in one transaction; only while it is still `expected_status`."""
        condition = (ModelRow.name == name) & (ModelRow.status == expected_status.value)
        with self._db.session() as session:
            if not compare_and_set(session, ModelRow, condition, DELETE):
                raise NotFound("model", name)
            session.execute(delete(ModelUsageRow).where(ModelUsageRow.name == name))
            session.execute(delete(EvaluationRow).where(EvaluationRow.model_name == name))

    # Totals (/metrics) -----------------------------------------------------------------------------------------

    def count_in(self, statuses: Iterable[ModelStatus]) -> int:
        with self._db.session() as session:
            wanted = [s.value for s in statuses]
            query = select(func.count()).select_from(ModelRow).where(ModelRow.status.in_(wanted))
            return int(session.scalar(query) or 0)

    def billed_seconds_total(self) -> float:
        """What the models that exist were billed, summed (a deleted model's bill goes with it)."""
        with self._db.session() as session:
            return float(session.scalar(select(func.sum(ModelRow.billed_seconds))) or 0.0)

    # Usage by analyze -----------------------------------------------------------------------------------------

    def record_use(self, last_used: Mapping[str, datetime]) -> None:
        """When each model was last used (only moves forward); names of models that no longer exist are skipped."""
        if not last_used:
            return
        try:
            self._record_use(last_used)
        except IntegrityError:  # another replica inserted the same name first: now it is an update
            self._record_use(last_used)

    def _record_use(self, last_used: Mapping[str, datetime]) -> None:
        with self._db.session() as session:
            existing = set(session.scalars(select(ModelRow.name).where(ModelRow.name.in_(list(last_used)))))
            known = {
                row.name: row
                for row in session.scalars(select(ModelUsageRow).where(ModelUsageRow.name.in_(list(existing))))
            }
            for name in existing:
                row = known.get(name)
                if row is None:
                    session.add(ModelUsageRow(name=name, last_used_at=last_used[name]))
                elif utc(row.last_used_at) < last_used[name]:
                    row.last_used_at = last_used[name]

    def recently_used(self, limit: int) -> builtins.list[Model]:
        """Succeeded models, the most recently used first (then the most recently trained)."""
        with self._db.session() as session:
            rows = session.execute(
                select(ModelRow, ModelUsageRow.last_used_at)
                .outerjoin(ModelUsageRow, ModelUsageRow.name == ModelRow.name)
                .where(ModelRow.status == ModelStatus.SUCCEEDED.value)
                .order_by(ModelUsageRow.last_used_at.desc().nulls_last(), ModelRow.updated_at.desc(), ModelRow.id)
                .limit(limit)
            ).all()
            return [_model(row) for row, _ in rows]

    def updated_since(self, status: ModelStatus, since: datetime | None) -> builtins.list[Model]:
        """Models in `status` changed after `since` (all of them when None), oldest change first."""
        with self._db.session() as session:
            query = select(ModelRow).where(ModelRow.status == status.value)
            if since is not None:
                query = query.where(ModelRow.updated_at > since)
            return [_model(r) for r in session.scalars(query.order_by(ModelRow.updated_at, ModelRow.id))]


def _columns(changes: dict[str, Any]) -> dict[str, Any]:
    values = dict(changes)
    error = values.pop("error", None)
    if error is not None:
        values["error_code"] = error.code.value
        values["error_message"] = error.message
    return values


def _model(row: ModelRow) -> Model:
    return Model(
        name=row.name,
        status=ModelStatus(row.status),
        training=TrainingParameters(row.training_dataset_name, row.budget_hours, ModelKind(row.model_kind)),
        test_dataset_name=row.test_dataset_name,
        created=utc(row.created_at),
        updated=utc(row.updated_at),
        billed_seconds=row.billed_seconds or 0.0,
        performance=row.performance,
        error=TrainingError(FailureCode(row.error_code), row.error_message or "") if row.error_code else None,
        progress=row.progress or {},
        artifact=row.artifact,
        attempt=row.attempt,
    )
