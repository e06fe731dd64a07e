"""The vocabulary: annotation and model kinds, statuses and failure codes, as `str` Enums whose values are those of
API.md.

They live apart from the rules that use them (tailor.models, tailor.evaluations) so that automl/, store/, workers/
and the API can share one vocabulary without importing the domain modules: automl/ raises a failure code without
knowing what a Model is, and the store reads a status column without pulling in the services. The domain modules
re-export them (`from tailor.models import ModelStatus` keeps working).
"""

from __future__ import annotations

from enum import Enum


class AnnotationKind(str, Enum):
    """The task: label whole images (classification) or find boxes in them (detection). The one enum for it, in
    code, on the wire and in files; each place spells it the way a contract users already rely on fixed, and takes
    the spelling from here:

    - the value (`imageClassification`, `imageObjectDetection`): a dataset's `annotationKind` on the wire (API.md);
    - `short` (`classification`, `detection`): the CLI's `--kind`, `coco validate --json`'s and the Custom Vision
      COCO import's `kind`, a model artifact's config.json `task`, a joining worker's study setup;
    - `role` (`classifier`, `detector`): what a model of the kind is; the held-out predictions' and report.json's
      `kind`, and messages.

    `parse` reads any of the three, so that every reader accepts every spelling ever written."""

    CLASSIFICATION = "imageClassification"
    DETECTION = "imageObjectDetection"

    @classmethod
    def parse(cls, text: str) -> AnnotationKind:
        """Any spelling (the wire value, `short` or `role`), any case; ValueError naming the choices."""
        wanted = text.strip().lower()
        for kind in cls:
            if wanted in (kind.value.lower(), kind.short, kind.role):
                return kind
        choices = ", ".join(f"{k.short!r} ({k.value!r})" for k in cls)
        raise ValueError(f"unknown annotation kind {text!r}; expected one of {choices}")

    @property
    def short(self) -> str:
        return "classification" if self is AnnotationKind.CLASSIFICATION else "detection"

    @property
    def role(self) -> str:
        return "classifier" if self is AnnotationKind.CLASSIFICATION else "detector"


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
