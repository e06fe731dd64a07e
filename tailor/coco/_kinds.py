"""What a COCO file is for: the kind of annotation it carries (tailor.enums.AnnotationKind, the vocabulary's) and the
purpose it serves."""

from __future__ import annotations

from enum import Enum

from ..enums import AnnotationKind

__all__ = ["AnnotationKind", "Purpose"]


class Purpose(str, Enum):
    """Training and evaluation sets have different quotas (API.md, COCO files)."""

    TRAINING = "training"
    EVALUATION = "evaluation"
