"""The vocabulary's values are API.md's, and the domain modules hand out the very same Enums."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tailor.evaluations
import tailor.models
from tailor.coco import AnnotationKind
from tailor.enums import EvaluationFailureCode, EvaluationStatus, FailureCode, ModelKind, ModelStatus

REPO = Path(__file__).resolve().parents[1]


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


def test_the_task_kind_reads_every_spelling_ever_written() -> None:
    for kind, spellings in {
        AnnotationKind.CLASSIFICATION: ["imageClassification", "classification", "classifier", " Classifier "],
        AnnotationKind.DETECTION: ["imageObjectDetection", "detection", "detector", "DETECTION"],
    }.items():
        assert {AnnotationKind.parse(text) for text in spellings} == {kind}
    assert [(k.short, k.role) for k in AnnotationKind] == [("classification", "classifier"), ("detection", "detector")]
    with pytest.raises(ValueError, match="unknown annotation kind 'segmentation'; expected one of 'classification'"):
        AnnotationKind.parse("segmentation")


def test_only_the_vocabulary_spells_the_task_kind() -> None:
    """Every file, wire field and message takes its spelling of the task kind from AnnotationKind, none writes its
    own: a string that is exactly one of the spellings appears in tailor/enums.py and nowhere else."""
    spellings = {s for kind in AnnotationKind for s in (kind.value, kind.short, kind.role)}
    found = []
    for path in sorted((REPO / "tailor").rglob("*.py")):
        if path == REPO / "tailor" / "enums.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in spellings:
                found.append(f"{path.relative_to(REPO)}:{node.lineno} {node.value!r}")
    assert not found, found
