"""The vocabulary: model kinds, statuses and failure codes, as `str` Enums whose values are those of API.md.

They live apart from the rules that use them (tailor.models, tailor.evaluations) so that automl/, store/, workers/
and the API can share one vocabulary without importing the domain modules: automl/ raises a failure code without
knowing what a Model is, and the store reads a status column without pulling in the services. The domain modules
re-export them (`from tailor.models import ModelStatus` keeps working).
"""

from __future__ import annotations

from enum import Enum

from .coco import AnnotationKind


class ModelKind(str, Enum):
    CLASSIFIER = "Generic-Classifier"
    DETECTOR = "Generic-Detector"
    PRODUCT_RECOGNIZER = "Product-Recognizer"

    @property
    def annotation_kind(self) -> AnnotationKind:
        return AnnotationKind.DETECTION if self is ModelKind.DETECTOR else AnnotationKind.CLASSIFICATION

    @property
    def max_budget_hours(self) -> float:
        return 1344 if self is ModelKind.DETECTOR else 336


class ExportFormat(str, Enum):
    """What a trained model can be exported to (`GET /models/{name}/export?format=`)."""

    ONNX = "onnx"


class Runtime(str, Enum):
    """What runs a trained model for analyze (TAILOR_RUNTIME)."""

    AUTO = "auto"  # whichever of the two measured faster on this host, once per model
    ONNXRUNTIME = "onnxruntime"  # the model's ONNX export, with ONNX Runtime
    TORCH = "torch"  # the artifact, with PyTorch


class ModelStatus(str, Enum):
    NOT_STARTED = "notStarted"
    TRAINING = "training"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"

    def is_final(self) -> bool:
        return self in (ModelStatus.SUCCEEDED, ModelStatus.FAILED, ModelStatus.CANCELLED)


class FailureCode(str, Enum):
    """`error.code` of a failed training (API.md)."""

    DIVERGED = "diverged"
    NOT_ENOUGH_BUDGET = "notEnoughBudget"
    DATASET_CORRUPT = "datasetCorrupt"
    DATASET_NOT_FOUND = "datasetNotFound"
    UNKNOWN = "unknown"


class EvaluationStatus(str, Enum):
    NOT_STARTED = "notStarted"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    def is_final(self) -> bool:
        return self in (EvaluationStatus.SUCCEEDED, EvaluationStatus.FAILED)


class EvaluationFailureCode(str, Enum):
    """`error.code` of a failed evaluation (API.md)."""

    INTERNAL_SERVER_ERROR = "internalServerError"
    MODEL_NOT_FOUND = "modelNotFound"
    DATASET_NOT_FOUND = "datasetNotFound"
    DATASET_ANNOTATIONS_INVALID = "datasetAnnotationsInvalid"
    DATASET_EMPTY = "datasetEmpty"
    INCORRECT_MODEL_KIND = "incorrectModelKind"
