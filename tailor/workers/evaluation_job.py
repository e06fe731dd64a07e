"""The evaluation job: one function for the in-process runner and the arq worker alike. It moves the evaluation
through its states and hands the measuring to tailor.automl.evaluation and the report to tailor.reports.

`measure` is shared with the training job, which measures a model on its `testDatasetName` once it has trained.
As with trainings, the final write names the attempt: an attempt that another one replaced writes nothing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..automl.devices import torch_device_name
from ..automl.failures import EvaluationFailed
from ..blobs import within
from ..coco import Purpose
from ..datasets import InvalidAnnotations
from ..enums import EvaluationFailureCode, EvaluationStatus, ModelKind, ModelStatus
from ..errors import BlobCorrupt, BlobNotFound, NotFound, new_incident
from ..models import Model
from ..records import EvaluationError
from .context import JobContext

log = logging.getLogger(__name__)


def run_evaluation(model_name: str, evaluation_name: str, context: JobContext) -> EvaluationStatus | None:
    """Evaluate to a final state. Returns that state, or None when there was nothing to do (the evaluation is gone,
    already final, or another worker holds it) or its result was dropped (another attempt replaced this one)."""
    store = context.store
    try:
        evaluation = store.evaluations.get(model_name, evaluation_name)
    except NotFound:
        return None
    if evaluation.status.is_final():
        return None
    # A crashed attempt left it `running`: this attempt replaces it.
    attempt = evaluation.attempt + 1
    started = store.evaluations.move(
        model_name, evaluation_name, evaluation.status, EvaluationStatus.RUNNING,
        expected_attempt=evaluation.attempt, attempt=attempt,
    )
    if started is None:
        return None
    folder = context.evaluation_dir(model_name, evaluation_name, attempt)
    try:
        model = _succeeded_model(context, model_name)
        performance = measure(context, model, evaluation.test_dataset_name, folder / "report",
                              title=f"Evaluation {evaluation_name!r} of model {model_name!r}")
        kept = context.keep(folder, context.evaluation_name(model_name, evaluation_name, attempt))
    except EvaluationFailed as failed:
        return _end(context, model_name, evaluation_name, attempt, EvaluationStatus.FAILED,
                    error=EvaluationError(failed.code, failed.message))
    except Exception:
        incident = new_incident()
        log.exception("evaluation %s of %s failed unexpectedly (incident %s)", evaluation_name, model_name, incident)
        message = f"the evaluation failed unexpectedly; quote incident {incident} to find it in the worker log"
        return _end(context, model_name, evaluation_name, attempt, EvaluationStatus.FAILED,
                    error=EvaluationError(EvaluationFailureCode.INTERNAL_SERVER_ERROR, message))
    return _end(context, model_name, evaluation_name, attempt, EvaluationStatus.SUCCEEDED,
                performance=performance, report=within(kept, "report"))


def measure(context: JobContext, model: Model, dataset_name: str, report_folder: Path, *, title: str) -> dict[str, Any]:
    """The model's modelPerformance on the dataset, with its report written to `report_folder`. EvaluationFailed
    with the documented code when the dataset or the model cannot be used."""
    # torch loads only where models run: the API process starts in a fraction of the time.
    from ..automl.evaluation import evaluate_classifier, evaluate_detector
    from ..reports import write_report

    store = context.store
    try:
        dataset = store.datasets.get(dataset_name)
    except NotFound:
        raise EvaluationFailed(
            EvaluationFailureCode.DATASET_NOT_FOUND, f"the dataset {dataset_name!r} no longer exists"
        ) from None
    kind = model.training.model_kind
    if dataset.spec.annotation_kind is not kind.annotation_kind:
        raise EvaluationFailed(
            EvaluationFailureCode.INCORRECT_MODEL_KIND,
            f"dataset {dataset_name!r} is {dataset.spec.annotation_kind.value}; model {model.name!r} is a "
            f"{kind.value}, which is evaluated on {kind.annotation_kind.value} datasets",
        )
    try:
        loaded = context.datasets.load(dataset.spec, Purpose.EVALUATION)
    except InvalidAnnotations as invalid:
        shown = "; ".join(f"{p.file}#{p.path}: {p.message}" for p in invalid.problems[:10])
        more = f"; and {len(invalid.problems) - 10} more" if len(invalid.problems) > 10 else ""
        raise EvaluationFailed(
            EvaluationFailureCode.DATASET_ANNOTATIONS_INVALID, f"the dataset cannot be evaluated on: {shown}{more}"
        ) from None
    evaluate = evaluate_detector if kind is ModelKind.DETECTOR else evaluate_classifier
    try:  # a local copy of the model, checked, from this host's cache (fetched from Tailor's storage once)
        with context.artifacts.local_copy(str(model.artifact)) as artifact_dir, \
                context.device_pool.lend(context.lane) as devices:  # on a device of this worker's, as trainings
            measured = evaluate(artifact_dir, loaded.dataset, context.reader.image_fetcher(dataset.spec.access),
                                device=torch_device_name(devices[0]) if devices else None)
    except (BlobNotFound, BlobCorrupt) as exc:
        raise EvaluationFailed(
            EvaluationFailureCode.MODEL_NOT_FOUND, f"the model's files cannot be read ({exc}); train it again"
        ) from None
    performance = {**measured.performance, "imagesEvaluated": len(measured.predictions.image_names)}
    details = {
        "Model": model.name,
        "Test dataset": dataset_name,
        "Images evaluated": str(len(measured.predictions.image_names)),
        "Images left out (no label)": str(measured.skipped["unlabelled"]),
        ("Boxes" if kind is ModelKind.DETECTOR else "Images") + " left out (a category the model does not know)":
            str(measured.skipped["unknownCategories"]),
        "Measured at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    write_report(report_folder, measured.predictions, title=title, performance=measured.performance,
                 details=details, thumbnails=measured.thumbnails)
    return performance


def _succeeded_model(context: JobContext, model_name: str) -> Model:
    try:
        model = context.store.models.get(model_name)
    except NotFound:
        raise EvaluationFailed(EvaluationFailureCode.MODEL_NOT_FOUND, f"the model {model_name!r} no longer exists") from None
    if model.status is not ModelStatus.SUCCEEDED or not model.artifact:
        raise EvaluationFailed(
            EvaluationFailureCode.MODEL_NOT_FOUND,
            f"the model {model_name!r} is {model.status.value}: it has no trained weights to evaluate",
        )
    return model


def _end(context: JobContext, model_name: str, name: str, attempt: int, status: EvaluationStatus,
         **changes: Any) -> EvaluationStatus | None:
    """The attempt's final state; None when it is no longer the current attempt (nothing is written)."""
    moved = context.store.evaluations.move(
        model_name, name, EvaluationStatus.RUNNING, status, expected_attempt=attempt, **changes
    )
    if moved is None:
        log.warning("evaluation %s of %s: attempt %d is no longer current (replaced, or given up); its result (%s) "
                    "is dropped", name, model_name, attempt, status.value)
        return None
    return status
