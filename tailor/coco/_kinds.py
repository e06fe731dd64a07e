"""What a COCO file is for: the kind of annotation it carries and the purpose it serves."""

from __future__ import annotations

from enum import Enum


class AnnotationKind(str, Enum):
    """A dataset's `annotationKind`, with the wire values of API.md."""

    CLASSIFICATION = "imageClassification"
    DETECTION = "imageObjectDetection"

    @classmethod
    def parse(cls, text: str) -> AnnotationKind:
        """Accept the wire value or the short CLI word (`classification`, `detection`), any case."""
        wanted = text.strip().lower()
        for kind in cls:
            if wanted in (kind.value.lower(), kind.short):
                return kind
        choices = ", ".join(f"{k.short!r} ({k.value!r})" for k in cls)
        raise ValueError(f"unknown annotation kind {text!r}; expected one of {choices}")

    @property
    def short(self) -> str:
        return "classification" if self is AnnotationKind.CLASSIFICATION else "detection"


class Purpose(str, Enum):
    """Training and evaluation sets have different quotas (API.md, COCO files)."""

    TRAINING = "training"
    EVALUATION = "evaluation"
