"""The training job: one function for the in-process runner and the arq worker alike. It only moves the model
through its states and hands the work to tailor.automl.

Each run is one attempt, numbered in the model's record when it starts; every write it makes after that (progress,
bill, final state, artifact) names its attempt, and the store refuses it once another attempt has replaced this one
(a worker that lost its lease but still runs), so that an attempt never overwrites a newer one's results or bills
twice. Such an attempt sees it is no longer current within a poll, and stops without writing.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..automl.failures import EvaluationFailed, TrainingCancelled, TrainingFailed
from ..coco import Purpose
from ..datasets import InvalidAnnotations
from ..enums import FailureCode, ModelKind, ModelStatus
from ..errors import NotFound, new_incident
from ..models import HELD_OUT_PREDICTIONS, REPORT_FOLDER
from ..records import Model, TrainingError
from .context import JobContext
from .evaluation_job import measure
from .joining_job import StudyFiles, invitation, study_folder

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0  # how often a training looks for a cancel request and records its progress


def run_training(model_name: str, context: JobContext, stop: threading.Event | None = None) -> ModelStatus | None:
    """Train `model_name` to a final state. Returns that state, or None when there was nothing to do (the model is
    gone, already final, or another worker holds it) or nothing was recorded: another attempt replaced this one, or
    `stop` was set (the arq worker shuts down) and the training is left to be run again. A training stops within one
    step of its loop once it is cancelled, replaced or stopped."""
    store = context.store
    try:
        model = store.models.get(model_name)
    except NotFound:
        return None
    if model.status.is_final():
        return None
    if model.status is ModelStatus.CANCELLING:
        moved = store.models.move(model_name, ModelStatus.CANCELLING, ModelStatus.CANCELLED,
                                  expected_attempt=model.attempt)
        return ModelStatus.CANCELLED if moved is not None else None
    # A crashed attempt left the model in `training`: this attempt replaces it, and its time is not billed.
    attempt = model.attempt + 1
    started = store.models.move(
        model_name, model.status, ModelStatus.TRAINING, expected_attempt=model.attempt,
        attempt=attempt, billed_seconds=0.0, progress=_loading(model, attempt),
    )
    if started is None:
        return None
    watch = _Watch(context, model_name, attempt, stop)
    try:
        result = _train(model_name, attempt, context, watch)
    except TrainingCancelled as cancelled:
        return _stopped(context, watch, cancelled.billed_seconds)
    except TrainingFailed as failed:
        return _end(
            context, model_name, attempt, ModelStatus.FAILED,
            error=TrainingError(failed.code, failed.message), billed_seconds=failed.billed_seconds,
        )
    except Exception:
        return _end(context, model_name, attempt, ModelStatus.FAILED, error=_unexpected(model_name))
    watch.poll()
    if watch.replaced:  # not worth measuring: the result would be dropped
        return _stopped(context, watch, result.billed_seconds)
    performance, reported = _measure_and_report(context, model_name, result)
    try:  # the model, its report and held-out predictions, from this host's disk to Tailor's storage
        artifact = context.keep(result.artifact_dir, context.artifact_name(model_name, attempt))
    except Exception:
        return _end(context, model_name, attempt, ModelStatus.FAILED, error=_unexpected(model_name))
    status = _end(
        context, model_name, attempt, ModelStatus.SUCCEEDED,
        billed_seconds=result.billed_seconds, performance=performance, artifact=artifact,
        progress={"phase": "succeeded", "attempt": attempt, "trialsDone": result.trials,
                  "bestValidationScore": round(result.best_score, 4),
                  "budgetUsedSeconds": round(result.billed_seconds, 1), **reported},
    )
    if status is not ModelStatus.SUCCEEDED:  # cancelled meanwhile, or this attempt replaced: no record names it
        context.discard(artifact)
    return status


def _unexpected(model_name: str) -> TrainingError:
    incident = new_incident()
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


def _train(model_name: str, attempt: int, context: JobContext, watch: _Watch):
    # torch and timm load only where training happens: the API process starts in a fraction of the time.
    from ..automl import TrainingRequest, train_classifier
    from ..automl.detection import train_detector

    # The preparation (imports, annotations, weights) takes seconds on a busy machine: a cancel is honoured between
    # its steps too, not only once the search has begun.
    watch.stop_if_asked()
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
    watch.stop_if_asked()
    context.prepare_weights()
    watch.stop_if_asked()
    with context.device_pool.lend(context.lane) as devices:  # what this training's trials may run on, side by side
        request = TrainingRequest(
            dataset=report.dataset,
            fetch=context.reader.image_fetcher(dataset.spec.access),
            budget_seconds=model.training.budget_seconds,
            weights_dir=context.weights_dir,
            output_dir=context.artifact_dir(model_name, attempt),
            devices=devices,
            study_storage=context.study_storage,
            study_name=f"{model_name}/attempt-{attempt}/{uuid.uuid4().hex[:8]}",
            invitation=invitation(context, model_name, attempt),
            on_progress=watch.record,
            should_stop=watch.should_stop,
        )
        try:
            return (train_detector if model.training.model_kind is ModelKind.DETECTOR else train_classifier)(request)
        finally:
            if request.invitation is not None:  # the joined workers' candidates have been taken, or are moot
                StudyFiles(context.storage, study_folder(model_name, attempt)).clear()


def _end(context: JobContext, model_name: str, attempt: int, status: ModelStatus, **changes: Any) -> ModelStatus | None:
    """The attempt's final state; None when it is no longer the current attempt (nothing is written)."""
    store = context.store
    if store.models.move(model_name, ModelStatus.TRAINING, status, expected_attempt=attempt, **changes) is not None:
        return status
    # A cancel arrived after the last check: the cancel wins, what was billed is kept.
    billed = changes.get("billed_seconds", 0.0)
    if store.models.move(model_name, ModelStatus.CANCELLING, ModelStatus.CANCELLED,
                         expected_attempt=attempt, billed_seconds=billed) is not None:
        return ModelStatus.CANCELLED
    log.warning("model %s: attempt %d is no longer current (replaced, or given up); its result (%s) is dropped",
                model_name, attempt, status.value)
    return None


def _stopped(context: JobContext, watch: _Watch, billed_seconds: float) -> ModelStatus | None:
    """The training stopped at a step because it was asked to: cancelled (the model says so), replaced (nothing is
    written), or stopped by its worker (left `training` for the job's next run, unless a cancel came meanwhile)."""
    if not (watch.cancelled or watch.replaced):
        watch.poll()  # stopped by the worker: a cancel asked for meanwhile still ends it cancelled
    if watch.replaced:
        log.warning("model %s: attempt %d is no longer current (replaced, or given up); it stopped without writing",
                    watch.model_name, watch.attempt)
        return None
    if watch.cancelled:
        return _end(context, watch.model_name, watch.attempt, ModelStatus.CANCELLED, billed_seconds=billed_seconds)
    log.info("model %s: attempt %d stopped by its worker; the job runs again", watch.model_name, watch.attempt)
    return None


def _loading(model: Model, attempt: int) -> dict[str, Any]:
    """The progress of an attempt that has not trained yet: the budget is known from the start, so that whoever
    watches (portal, CLI) shows it at once rather than when the first trial ends, which a small training may skip."""
    return {"phase": "loading", "attempt": attempt, "trialsDone": 0, "bestValidationScore": None,
            "budgetUsedSeconds": 0.0, "budgetSeconds": model.training.budget_seconds}


class _Watch:
    """Throttled contact with the store during training: progress out (fenced on the attempt), and in, whether to
    stop: a cancel request, another attempt that replaced this one, or `stop` (set by the worker that runs it)."""

    def __init__(self, context: JobContext, model_name: str, attempt: int, stop: threading.Event | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self._store = context.store
        self.model_name = model_name
        self.attempt = attempt
        self._stop = stop or threading.Event()
        self._clock = clock
        self._last_poll = float("-inf")
        self.cancelled = False  # the model is `cancelling`: the attempt ends `cancelled`
        self.replaced = False  # the attempt is no longer current: it ends without writing

    def record(self, progress: dict[str, Any]) -> None:
        if self.replaced:
            return
        written = self._store.models.update(
            self.model_name, attempt=self.attempt, progress={**progress, "attempt": self.attempt},
            billed_seconds=progress.get("budgetUsedSeconds", 0.0),
        )
        if not written:
            self.poll()

    def should_stop(self) -> bool:
        if not (self.cancelled or self.replaced) and self._clock() - self._last_poll >= POLL_SECONDS:
            self.poll()
        return self.cancelled or self.replaced or self._stop.is_set()

    def poll(self) -> None:
        self._last_poll = self._clock()
        try:
            model = self._store.models.get(self.model_name)
        except NotFound:
            model = None
        if model is None or model.attempt != self.attempt or model.status not in (
            ModelStatus.TRAINING, ModelStatus.CANCELLING
        ):
            self.replaced = True
        elif model.status is ModelStatus.CANCELLING:
            self.cancelled = True

    def stop_if_asked(self) -> None:
        if self.should_stop():
            raise TrainingCancelled
