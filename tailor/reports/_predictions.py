"""What a report is made from: a classifier's scores on labelled images, checked once on the way in."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np

from ..enums import AnnotationKind

DEFAULT_THRESHOLD = 0.5  # the decision threshold of a multilabel tag when none is given, as in automl/metrics.py


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no single truth value, so identity is the only equality
class Predictions:
    kind: ClassVar[AnnotationKind] = AnnotationKind.CLASSIFICATION
    class_names: tuple[str, ...]
    multilabel: bool
    scores: np.ndarray  # (n, C) float probabilities: softmax rows, or independent per-tag sigmoids when multilabel
    targets: np.ndarray  # (n,) int class indices; or (n, C) 0/1 multi-hot when multilabel
    image_names: tuple[str, ...]  # one per row: the image's file_name or URL, shown in the report
    thresholds: tuple[float, ...] | None = None  # multilabel: per-tag decision thresholds (None: 0.5)

    def __post_init__(self) -> None:
        # Normalised here so that every consumer can rely on tuples and float/int arrays of the right shapes.
        set_field = object.__setattr__
        set_field(self, "class_names", tuple(str(name) for name in self.class_names))
        set_field(self, "image_names", tuple(str(name) for name in self.image_names))
        set_field(self, "scores", np.asarray(self.scores, dtype=np.float64))
        targets = np.asarray(self.targets)
        num_classes = len(self.class_names)
        if num_classes < 2:
            raise ValueError(f"a report needs at least 2 classes, got {num_classes}")
        if self.scores.ndim != 2 or self.scores.shape[1] != num_classes:
            raise ValueError(f"scores must be (images, {num_classes}), got {self.scores.shape}")
        count = self.scores.shape[0]
        if count == 0:
            raise ValueError("a report needs at least one image")
        if not np.isfinite(self.scores).all():
            raise ValueError("scores must be finite")
        if len(self.image_names) != count:
            raise ValueError(f"{len(self.image_names)} image names for {count} rows of scores")
        if self.multilabel:
            if targets.shape != self.scores.shape or not np.isin(targets, (0, 1)).all():
                raise ValueError(f"multilabel targets must be a 0/1 matrix of shape {self.scores.shape}")
        elif targets.shape != (count,) or not ((targets >= 0) & (targets < num_classes)).all():
            raise ValueError(f"targets must be {count} class indices in [0, {num_classes})")
        set_field(self, "targets", targets.astype(np.int64))
        if self.thresholds is not None:
            if not self.multilabel:
                raise ValueError("thresholds apply to multilabel predictions only")
            if len(self.thresholds) != num_classes:
                raise ValueError(f"{len(self.thresholds)} thresholds for {num_classes} tags")
            set_field(self, "thresholds", tuple(float(t) for t in self.thresholds))

    @property
    def count(self) -> int:
        return self.scores.shape[0]

    @cached_property
    def truth(self) -> np.ndarray:
        """(n, C) bool: whether each image has each class (one True a row unless multilabel)."""
        if self.multilabel:
            return self.targets.astype(bool)
        return np.eye(len(self.class_names), dtype=bool)[self.targets]

    @cached_property
    def threshold_per_class(self) -> np.ndarray:
        """(C,) multilabel decision thresholds."""
        if self.thresholds is None:
            return np.full(len(self.class_names), DEFAULT_THRESHOLD)
        return np.asarray(self.thresholds, dtype=np.float64)

    @cached_property
    def decided(self) -> np.ndarray:
        """(n, C) bool: the classes the model predicts for each image: the top-1 class, or every tag at or above its
        threshold (`>=`, as automl/metrics.py decides)."""
        if self.multilabel:
            return self.scores >= self.threshold_per_class
        return np.eye(len(self.class_names), dtype=bool)[self.top1]

    @cached_property
    def top1(self) -> np.ndarray:
        """(n,) the highest-scoring class of each image (the first one on a tie)."""
        return self.scores.argmax(axis=1)
