"""Evaluations: a succeeded model measured on a labelled dataset it never saw, and what came of it.

The rules of the Evaluations API live here (its states in tailor.enums), as tailor.models keeps those of training;
the workers run the measurement (tailor.workers -> tailor.automl.evaluation) and record each transition here. Each
evaluation keeps a report (tailor.reports) beside the model's files in Tailor's storage.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from .blobs import is_landed
from .datasets import check_name
from .enums import EvaluationFailureCode, EvaluationStatus, ModelStatus  # noqa: F401 (importable from here, as before)
from .errors import BlobError, InvalidInput, NotFound, TailorError
from .models import model_folder
from .records import Evaluation

if TYPE_CHECKING:
    from .blobs import ArtifactStore
    from .store import Page, Store

log = logging.getLogger(__name__)


def evaluation_folder(model_name: str, name: str) -> str:
    """The folder of Tailor's storage that holds every attempt's outputs of the evaluation (`attempt-<n>/report/`),
    inside its model's: deleting the model deletes them too."""
    return f"{model_folder(model_name)}/evaluations/{name}"


class EvaluationConflict(TailorError):
    """The evaluation (or its model) is in a state that does not allow the call."""


class IncorrectModelKind(InvalidInput):
    """A classifier asked to be measured on detection annotations, or the reverse."""


class EvaluationQueue(Protocol):
    """Where evaluation jobs go: the same runner or arq queue as trainings (tailor.workers)."""

    def enqueue_evaluation(self, model_name: str, evaluation_name: str) -> None: ...


class EvaluationService:
    def __init__(self, store: Store, queue: EvaluationQueue, artifacts: ArtifactStore):
        self._store = store
        self._queue = queue
        self._artifacts = artifacts

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
        folders = [evaluation_folder(model_name, name)]
        if evaluation.report and is_landed(evaluation.report):
            folders.append(evaluation.report)  # the folder a Tailor before the artifact store wrote
        for folder in folders:
            try:
                self._artifacts.delete(folder)
            except BlobError:  # orphans, deleted with the model
                log.warning("evaluation %s of %s is deleted, but its files in %s could not be", name, model_name,
                            folder, exc_info=True)

    def report_location(self, model_name: str, name: str) -> str:
        """Where a succeeded evaluation's report is: a location of the artifact store (ArtifactStore.read reads
        its files)."""
        evaluation = self.get(model_name, name)
        if evaluation.status is not EvaluationStatus.SUCCEEDED or not evaluation.report:
            raise EvaluationConflict(
                f"evaluation {name!r} is {evaluation.status.value}; its report exists once it has succeeded"
            )
        return evaluation.report
