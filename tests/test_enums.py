"""The vocabulary's values are API.md's, and the domain modules hand out the very same Enums."""

from __future__ import annotations

import tailor.evaluations
import tailor.models
from tailor.coco import AnnotationKind
from tailor.enums import EvaluationFailureCode, EvaluationStatus, FailureCode, ModelKind, ModelStatus


def test_values_are_those_of_the_api() -> None:
    assert [k.value for k in ModelKind] == ["Generic-Classifier", "Generic-Detector", "Product-Recognizer"]
    assert [s.value for s in ModelStatus] == [
        "notStarted", "training", "succeeded", "failed", "cancelling", "cancelled",
    ]
    assert [c.value for c in FailureCode] == [
        "diverged", "notEnoughBudget", "datasetCorrupt", "datasetNotFound", "unknown",
    ]
    assert [s.value for s in EvaluationStatus] == ["notStarted", "running", "succeeded", "failed"]
    assert [c.value for c in EvaluationFailureCode] == [
        "internalServerError", "modelNotFound", "datasetNotFound", "datasetAnnotationsInvalid", "datasetEmpty",
        "incorrectModelKind",
    ]


def test_helpers() -> None:
    final = [ModelStatus.SUCCEEDED, ModelStatus.FAILED, ModelStatus.CANCELLED]
    assert [s for s in ModelStatus if s.is_final()] == final
    assert [s for s in EvaluationStatus if s.is_final()] == [EvaluationStatus.SUCCEEDED, EvaluationStatus.FAILED]
    assert ModelKind.DETECTOR.annotation_kind is AnnotationKind.DETECTION
    assert ModelKind.CLASSIFIER.annotation_kind is AnnotationKind.CLASSIFICATION
    assert (ModelKind.CLASSIFIER.max_budget_hours, ModelKind.DETECTOR.max_budget_hours) == (336, 1344)


def test_the_domain_modules_re_export_them() -> None:
    assert (tailor.models.ModelKind, tailor.models.ModelStatus, tailor.models.FailureCode) == (
        ModelKind, ModelStatus, FailureCode
    )
    assert (tailor.evaluations.EvaluationStatus, tailor.evaluations.EvaluationFailureCode) == (
        EvaluationStatus, EvaluationFailureCode
    )
