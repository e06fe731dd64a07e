"""Evaluations: a succeeded model measured on a labelled dataset it never saw, and what came of it.

The rules of the Evaluations API live here (its states in tailor.enums), as tailor.models keeps those of training;
the workers run the measurement (tailor.workers -> tailor.automl.evaluation) and record each transition here. Each
evaluation keeps a report (tailor.reports) beside the model's files.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .datasets import check_name
from .enums import EvaluationFailureCode, EvaluationStatus, ModelStatus  # and importable from here, as before
from .errors import InvalidInput, NotFound, TailorError

if TYPE_CHECKING:
    from .store import Page, Store


@dataclass(frozen=True)
class EvaluationError:
    code: EvaluationFailureCode
    message: str


@dataclass(frozen=True)
class Evaluation:
    name: str
    model_name: str
    test_dataset_name: str
    status: EvaluationStatus
    created: datetime
    updated: datetime
    performance: Mapping[str, Any] | None = None
    error: EvaluationError | None = None
    report: str | None = None  # the folder of its report, once it has succeeded
    attempt: int = 0


class EvaluationConflict(TailorError):
    """The evaluation (or its model) is in a state that does not allow the call."""


class IncorrectModelKind(InvalidInput):
    """A classifier asked to be measured on detection annotations, or the reverse."""


class EvaluationQueue(Protocol):
    """Where evaluation jobs go: the same runner or arq queue as trainings (tailor.workers)."""

    def enqueue_evaluation(self, model_name: str, evaluation_name: str) -> None: ...


class EvaluationService:
    def __init__(self, store: Store, queue: EvaluationQueue):
        self._store = store
        self._queue = queue

    def create(self, model_name: str, name: str, test_dataset_name: str) -> Evaluation:
        """Checked now, so that a mistake is a 4xx at once: the model exists and has succeeded, the dataset exists
        and has the model's kind of annotations. The same facts are checked again when the job runs (they can change
        in between); then they end the evaluation with a failure code."""
        check_name(name, "evaluation")
        model = self._store.models.get(check_name(model_name, "model"))
        if model.status is not ModelStatus.SUCCEEDED:
            raise EvaluationConflict(
                f"model {model_name!r} is {model.status.value}; only a succeeded model can be evaluated"
            )
        try:
            dataset = self._store.datasets.get(check_name(test_dataset_name))
        except NotFound:
            raise InvalidInput(
                f"there is no dataset named {test_dataset_name!r}", target="evaluationParameters.testDatasetName"
            ) from None
        kind = model.training.model_kind
        if dataset.spec.annotation_kind is not kind.annotation_kind:
            raise IncorrectModelKind(
                f"dataset {dataset.name!r} is {dataset.spec.annotation_kind.value}; a "
                f"{kind.value} is evaluated on {kind.annotation_kind.value} datasets",
                target="evaluationParameters.testDatasetName",
            )
        evaluation = self._store.evaluations.insert(model_name, name, test_dataset_name)
        self._queue.enqueue_evaluation(model_name, name)
        return evaluation

    def get(self, model_name: str, name: str) -> Evaluation:
        return self._store.evaluations.get(check_name(model_name, "model"), check_name(name, "evaluation"))

    def list(self, model_name: str, skip: int, top: int) -> Page[Evaluation]:
        self._store.models.get(check_name(model_name, "model"))  # 404 for a model that does not exist
        return self._store.evaluations.list(model_name, skip, top)

    def delete(self, model_name: str, name: str) -> None:
        """Only a finished evaluation can be deleted: a running one would write its report after the delete."""
        evaluation = self.get(model_name, name)
        if not evaluation.status.is_final():
            raise EvaluationConflict(
                f"evaluation {name!r} is {evaluation.status.value}; it can be deleted once it has succeeded or failed"
            )
        self._store.evaluations.delete(model_name, name, expected_status=evaluation.status)
        if evaluation.report:
            shutil.rmtree(evaluation.report, ignore_errors=True)

    def report_folder(self, model_name: str, name: str) -> Path:
        """The folder of a succeeded evaluation's report."""
        evaluation = self.get(model_name, name)
        if evaluation.status is not EvaluationStatus.SUCCEEDED or not evaluation.report:
            raise EvaluationConflict(
                f"evaluation {name!r} is {evaluation.status.value}; its report exists once it has succeeded"
            )
        return Path(evaluation.report)
