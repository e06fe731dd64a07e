"""Models: a training request over a dataset and a budget, and what became of it.

The transitions between the states (named in tailor.enums) and the rules of the Models API live here; `tailor.api`
translates the wire format, the workers run the training (tailor.workers -> tailor.automl) and record each transition
here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .blobs import is_landed, within
from .datasets import check_name
from .enums import FailureCode, ModelKind, ModelStatus  # noqa: F401 (importable from here, as before)
from .errors import BlobError, InvalidInput, NotFound, TailorError
from .records import Model, TrainingParameters

if TYPE_CHECKING:
    from .blobs import ArtifactStore
    from .store import Page, Store

log = logging.getLogger(__name__)

REPORT_FOLDER = "report"  # inside a model's artifact
# Also there: the predictions on the held-out images, kept so that figures at other thresholds can be computed later
HELD_OUT_PREDICTIONS = "heldout-predictions.json"


def model_folder(name: str) -> str:
    """The folder of Tailor's storage that holds every artifact of the model: its trained attempts
    (`attempt-<n>-<random>/`) and its evaluations' outputs (`evaluations/<name>/attempt-<n>/`)."""
    return f"models/{name}"


class ModelNotReady(TailorError):
    """The model exists but has no trained weights to predict with (its training has not succeeded)."""

    def __init__(self, name: str, status: ModelStatus, use: str = "analyze images"):
        todo = (
            "wait until its training has succeeded"
            if status in (ModelStatus.NOT_STARTED, ModelStatus.TRAINING)
            else "train a new model"
        )
        super().__init__(
            f"model {name!r} is {status.value}; only a model whose training succeeded can {use}: {todo}"
        )
        self.name, self.status = name, status


# Kinds this build can train; the others are refused with a clear 400 when the model is created.
SUPPORTED_KINDS = frozenset({ModelKind.CLASSIFIER, ModelKind.DETECTOR})


class ModelConflict(TailorError):
    """The model is in a state that does not allow this call (e.g. deleting it while it trains)."""

    def __init__(self, name: str, status: ModelStatus, action: str, why: str | None = None):
        super().__init__(why or f"model {name!r} is {status.value}; it can be {action} only once training has ended")
        self.name, self.status = name, status


class JobQueue(Protocol):
    """Where training jobs go: the in-process runner or arq on Redis (tailor.workers)."""

    def enqueue_training(self, model_name: str) -> None: ...

    def request_cancel(self, model_name: str) -> None: ...


@dataclass(frozen=True)
class TrainingLimits:
    """What an operator allows beyond API.md's quotas (settings `TAILOR_MAX_BUDGET_HOURS`,
    `TAILOR_MAX_TRAINING_HOURS_PER_KEY`)."""

    max_budget_hours: float | None = None
    max_hours_per_key: float | None = None


class ModelService:
    def __init__(
        self,
        store: Store,
        queue: JobQueue,
        artifacts: ArtifactStore,
        limits: TrainingLimits = TrainingLimits(),
        on_deleted: Callable[[str], None] = lambda name: None,
    ):
        """`on_deleted(name)` is told of every deletion (the prediction cache drops the model)."""
        self._store = store
        self._queue = queue
        self._artifacts = artifacts
        self._limits = limits
        self._on_deleted = on_deleted

    def create(
        self, name: str, training: TrainingParameters, test_dataset_name: str | None, owner: str | None = None
    ) -> Model:
        """`owner` identifies the key that asks (a fingerprint, never the key), for the per-key limit."""
        check_name(name, "model")
        self._check_limits(training, owner)
        if training.model_kind not in SUPPORTED_KINDS:
            raise InvalidInput(
                f"modelKind {training.model_kind.value} is not supported by this Tailor yet; use "
                f"{', '.join(k.value for k in sorted(SUPPORTED_KINDS))}",
                target="trainingParameters.modelKind",
            )
        dataset = self._dataset(training.training_dataset_name, "trainingParameters.trainingDatasetName")
        if dataset.spec.annotation_kind is not training.model_kind.annotation_kind:
            raise InvalidInput(
                f"dataset {dataset.name!r} is {dataset.spec.annotation_kind.value}; {training.model_kind.value} trains "
                f"on {training.model_kind.annotation_kind.value} datasets",
                target="trainingParameters.trainingDatasetName",
            )
        if test_dataset_name is not None:
            self._dataset(test_dataset_name, "evaluationParameters.testDatasetName")
        model = self._store.models.insert(name, training, test_dataset_name, owner)
        self._queue.enqueue_training(name)
        return model

    def get(self, name: str) -> Model:
        return self._store.models.get(check_name(name, "model"))

    def _check_limits(self, training: TrainingParameters, owner: str | None) -> None:
        limits, budget = self._limits, training.time_budget_in_hours
        if limits.max_budget_hours is not None and budget > limits.max_budget_hours:
            raise InvalidInput(
                f"timeBudgetInHours {budget:g} is over this service's limit of {limits.max_budget_hours:g} h per model "
                "(TAILOR_MAX_BUDGET_HOURS)",
                target="trainingParameters.timeBudgetInHours",
            )
        if limits.max_hours_per_key is not None and owner is not None:
            held = self._store.models.budget_hours_of(owner)
            if held + budget > limits.max_hours_per_key:
                raise InvalidInput(
                    f"this key's models already hold {held:g} h of budget; {budget:g} h more would pass its limit of "
                    f"{limits.max_hours_per_key:g} h (TAILOR_MAX_TRAINING_HOURS_PER_KEY): delete models or ask for less",
                    target="trainingParameters.timeBudgetInHours",
                )

    def list(self, skip: int, top: int) -> Page[Model]:
        return self._store.models.list(skip, top)

    def delete(self, name: str, *, for_iteration: bool = False) -> None:
        """Delete the record (and its evaluations'), then its files (every attempt's, the evaluations' reports); the
        files go only once the records are gone. The model of a Custom Vision iteration goes with its iteration
        (`for_iteration`), not on its own."""
        model = self.get(name)
        iteration = None if for_iteration else self._store.projects.iteration_of_model(name)
        if iteration is not None:
            raise ModelConflict(name, model.status, "deleted", f"model {name!r} is {iteration.name} of Custom Vision "
                                f"project {iteration.project_id}: delete that iteration (delete_iteration) instead")
        if not model.status.is_final():
            raise ModelConflict(name, model.status, "deleted")
        evaluating = self._store.evaluations.active_of(name)
        if evaluating:
            raise ModelConflict(
                name, model.status, "deleted", f"evaluation {evaluating[0]!r} of it is still running; delete it after"
            )
        self._store.models.delete(name, expected_status=model.status)
        self._on_deleted(name)
        folders = [model_folder(name)]  # what its attempts and evaluations left, whatever became of their records
        if model.artifact and is_landed(model.artifact):
            folders.append(str(Path(model.artifact).parent))  # the folder a Tailor before the artifact store wrote
        for folder in folders:
            try:
                self._artifacts.delete(folder)
            except BlobError:  # the model is gone; its files are orphans, deleted with the next model of its name
                log.warning("model %s is deleted, but its files in %s could not be", name, folder, exc_info=True)

    def report_location(self, name: str) -> str:
        """Where the trained model's report (tailor.reports) is, kept with its weights: a location of the
        artifact store (ArtifactStore.read reads its files)."""
        model = self.get(name)
        if model.status is not ModelStatus.SUCCEEDED or not model.artifact:
            raise ModelConflict(name, model.status, "reported on", f"model {name!r} is {model.status.value}; its "
                                "report exists once its training has succeeded")
        return within(model.artifact, REPORT_FOLDER)

    def held_out_location(self, name: str) -> str:
        """Where the trained model's artifact is, whose HELD_OUT_PREDICTIONS (tailor.reports.save_predictions) are
        its predictions on its held-out images: with the same rule as its report (once its training succeeded)."""
        model = self.get(name)
        if model.status is not ModelStatus.SUCCEEDED or not model.artifact:
            raise ModelConflict(name, model.status, "reported on", f"model {name!r} is {model.status.value}; its "
                                "held-out predictions exist once its training has succeeded")
        return model.artifact

    def cancel(self, name: str) -> Model:
        model = self.get(name)
        if model.status.is_final() or model.status is ModelStatus.CANCELLING:
            return model
        if model.status is ModelStatus.NOT_STARTED:
            # Not picked up yet: cancelled at once; a worker that picks it up later finds it final and skips it.
            moved = self._store.models.move(name, ModelStatus.NOT_STARTED, ModelStatus.CANCELLED)
            if moved is not None:
                return moved
        moved = self._store.models.move(name, ModelStatus.TRAINING, ModelStatus.CANCELLING)
        self._queue.request_cancel(name)
        return moved or self.get(name)

    def _dataset(self, name: str, target: str):
        try:
            return self._store.datasets.get(check_name(name))
        except NotFound:
            raise InvalidInput(f"there is no dataset named {name!r}", target=target) from None
