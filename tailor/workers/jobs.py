"""The training job: one function for the in-process runner and the arq worker alike. It only moves the model
through its states and hands the work to tailor.automl."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..automl.failures import EvaluationFailed, TrainingCancelled, TrainingFailed
from ..coco import Purpose
from ..datasets import InvalidAnnotations
from ..enums import FailureCode, ModelKind, ModelStatus
from ..errors import NotFound
from ..models import HELD_OUT_PREDICTIONS, REPORT_FOLDER, TrainingError
from .context import JobContext
from .evaluation_job import measure

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0  # how often a training looks for a cancel request and records its progress


def run_training(model_name: str, context: JobContext) -> ModelStatus | None:
    """Train `model_name` to a final state. Returns that state, or None when there was nothing to do (the model is
    gone, already final, or another worker holds it)."""
    store = context.store
    try:
        model = store.models.get(model_name)
    except NotFound:
        return None
    if model.status.is_final():
        return None
    if model.status is ModelStatus.CANCELLING:
        store.models.move(model_name, ModelStatus.CANCELLING, ModelStatus.CANCELLED)
        return ModelStatus.CANCELLED
    # A crashed attempt left the model in `training`: this attempt replaces it, and its time is not billed.
    attempt = model.attempt + 1
    started = store.models.move(
        model_name, model.status, ModelStatus.TRAINING, expected_attempt=model.attempt,
        attempt=attempt, billed_seconds=0.0, progress={"phase": "loading", "attempt": attempt},
    )
    if started is None:
        return None
    try:
        result = _train(model_name, attempt, context)
    except TrainingCancelled as cancelled:
        return _end(context, model_name, ModelStatus.CANCELLED, billed_seconds=cancelled.billed_seconds)
    except TrainingFailed as failed:
        return _end(
            context, model_name, ModelStatus.FAILED,
            error=TrainingError(failed.code, failed.message), billed_seconds=failed.billed_seconds,
        )
    except Exception:
        return _end(context, model_name, ModelStatus.FAILED, error=_unexpected(model_name))
    performance, reported = _measure_and_report(context, model_name, result)
    try:  # the model, its report and held-out predictions, from this host's disk to Tailor's storage
        artifact = context.keep(result.artifact_dir, context.artifact_name(model_name, attempt))
    except Exception:
        return _end(context, model_name, ModelStatus.FAILED, error=_unexpected(model_name))
    return _end(
        context, model_name, ModelStatus.SUCCEEDED,
        billed_seconds=result.billed_seconds, performance=performance, artifact=artifact,
        progress={"phase": "succeeded", "attempt": attempt, "trialsDone": result.trials,
                  "bestValidationScore": round(result.best_score, 4),
                  "budgetUsedSeconds": round(result.billed_seconds, 1), **reported},
    )


def _unexpected(model_name: str) -> TrainingError:
    incident = uuid.uuid4().hex[:12]
    log.exception("training %s failed unexpectedly (incident %s)", model_name, incident)
    message = f"training failed unexpectedly; quote incident {incident} to find it in the worker log"
    return TrainingError(FailureCode.UNKNOWN, message)


def _measure_and_report(context: JobContext, model_name: str, result) -> tuple[dict[str, Any], dict[str, Any]]:
    """modelPerformance (on the test dataset when training named one, else on the validated images) and what
    trainingProgress adds: the validated images' figures, and why a test measurement could not be made. The model
    keeps its weights whatever happens here: a report that cannot be written is logged, not a failed training."""
    from ..reports import save_predictions, write_report

    model = context.store.models.get(model_name)
    folder = result.artifact_dir / REPORT_FOLDER
    reported: dict[str, Any] = {"validationPerformance": result.performance}
    try:
        save_predictions(result.artifact_dir / HELD_OUT_PREDICTIONS, result.validated)
    except Exception:
        log.exception("model %s: its held-out predictions could not be kept", model_name)
    if model.test_dataset_name:
        trained = replace(model, status=ModelStatus.SUCCEEDED, artifact=str(result.artifact_dir))
        try:
            title = f"Model {model_name!r} on its test dataset {model.test_dataset_name!r}"
            return measure(context, trained, model.test_dataset_name, folder, title=title), reported
        except EvaluationFailed as failed:
            reported["testEvaluationError"] = {"code": failed.code.value, "message": failed.message}
        except Exception:
            log.exception("model %s: the measurement on its test dataset failed", model_name)
            reported["testEvaluationError"] = {"code": "internalServerError", "message": "see the worker log"}
    try:
        details = {"Model": model_name, "Training dataset": model.training.training_dataset_name,
                   "Images": f"{len(result.validated.image_names)} validated (held out of the search's training)"}
        write_report(folder, result.validated, title=f"Model {model_name!r} on its held-out images",
                     performance=result.performance, details=details, thumbnails=result.thumbnails)
    except Exception:
        log.exception("model %s: its report could not be written", model_name)
    return result.performance, reported


def _train(model_name: str, attempt: int, context: JobContext):
    watch = _Watch(context, model_name, attempt)
    # torch and timm load only where training happens: the API process starts in a fraction of the time.
    from ..automl import TrainingRequest, train_classifier
    from ..automl.detection import train_detector
    from ..automl.backbones import prepare_weights

    # The preparation (imports, annotations, weights) takes seconds on a busy machine: a cancel is honoured between
    # its steps too, not only once the search has begun.
    watch.stop_if_cancelled()
    store = context.store
    model = store.models.get(model_name)
    try:
        dataset = store.datasets.get(model.training.training_dataset_name)
    except NotFound:
        raise TrainingFailed(
            FailureCode.DATASET_NOT_FOUND, f"the dataset {model.training.training_dataset_name!r} no longer exists"
        ) from None
    try:
        report = context.datasets.load(dataset.spec, Purpose.TRAINING)
    except InvalidAnnotations as invalid:
        shown = "; ".join(f"{p.file}#{p.path}: {p.message}" for p in invalid.problems[:10])
        more = f"; and {len(invalid.problems) - 10} more" if len(invalid.problems) > 10 else ""
        raise TrainingFailed(FailureCode.DATASET_CORRUPT, f"the dataset cannot be trained on: {shown}{more}") from None
    watch.stop_if_cancelled()
    prepare_weights(context.weights_dir)
    watch.stop_if_cancelled()
    request = TrainingRequest(
        dataset=report.dataset,
        fetch=context.reader.image_fetcher(dataset.spec.access),
        budget_seconds=model.training.budget_seconds,
        weights_dir=context.weights_dir,
        output_dir=context.artifact_dir(model_name, attempt),
        study_storage=context.settings.resolved_database_url,
        study_name=f"{model_name}/attempt-{attempt}/{uuid.uuid4().hex[:8]}",
        on_progress=watch.record,
        should_stop=watch.cancel_requested,
    )
    return (train_detector if model.training.model_kind is ModelKind.DETECTOR else train_classifier)(request)


def _end(context: JobContext, model_name: str, status: ModelStatus, **changes: Any) -> ModelStatus:
    store = context.store
    moved = store.models.move(model_name, ModelStatus.TRAINING, status, **changes)
    if moved is None:  # a cancel arrived after the last check: the cancel wins, what was billed is kept
        billed = changes.get("billed_seconds", 0.0)
        moved = store.models.move(model_name, ModelStatus.CANCELLING, ModelStatus.CANCELLED, billed_seconds=billed)
        status = ModelStatus.CANCELLED
    return status


class _Watch:
    """Throttled contact with the store during training: progress out, cancel requests in."""

    def __init__(self, context: JobContext, model_name: str, attempt: int, clock: Callable[[], float] = time.monotonic):
        self._store = context.store
        self._name = model_name
        self._attempt = attempt
        self._clock = clock
        self._last_poll = float("-inf")
        self._cancelled = False

    def record(self, progress: dict[str, Any]) -> None:
        self._store.models.update(
            self._name, progress={**progress, "attempt": self._attempt},
            billed_seconds=progress.get("budgetUsedSeconds", 0.0),
        )

    def cancel_requested(self) -> bool:
        now = self._clock()
        if not self._cancelled and now - self._last_poll >= POLL_SECONDS:
            self._last_poll = now
            self._cancelled = self._store.models.get(self._name).status is ModelStatus.CANCELLING
        return self._cancelled

    def stop_if_cancelled(self) -> None:
        if self.cancel_requested():
            raise TrainingCancelled
