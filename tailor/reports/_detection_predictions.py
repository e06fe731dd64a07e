"""What a detector's report is made from: its boxes on labelled images, checked once on the way in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from ..enums import AnnotationKind
from ._coco_evaluation import CocoEvaluation, evaluate


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no single truth value, so identity is the only equality
class DetectionPredictions:
    kind: ClassVar[AnnotationKind] = AnnotationKind.DETECTION
    class_names: tuple[str, ...]  # 1 or more classes (a detector may have a single class)
    image_names: tuple[str, ...]  # one per image: its file_name or URL, shown in the report
    image_sizes: tuple[tuple[int, int], ...]  # (width, height) of each image: the frame its boxes are in
    true_boxes: tuple[np.ndarray, ...]  # per image (k, 4) float x1 y1 x2 y2, absolute pixels
    true_labels: tuple[np.ndarray, ...]  # per image (k,) int class indices
    boxes: tuple[np.ndarray, ...]  # per image (m, 4) float x1 y1 x2 y2, absolute pixels: the detections
    labels: tuple[np.ndarray, ...]  # per image (m,) int class indices
    scores: tuple[np.ndarray, ...]  # per image (m,) float confidences in [0, 1]

    def __post_init__(self) -> None:
        # Normalised here so that every consumer can rely on tuples and float/int arrays of the right shapes. The
        # arrays are copies made read-only: `evaluation` is computed once, and must stay true to them.
        set_field = object.__setattr__
        set_field(self, "class_names", tuple(str(name) for name in self.class_names))
        set_field(self, "image_names", tuple(str(name) for name in self.image_names))
        num_classes = len(self.class_names)
        if num_classes < 1:
            raise ValueError("a detector's report needs at least 1 class")
        count = len(self.image_names)
        if count == 0:
            raise ValueError("a report needs at least one image")
        for field in ("image_sizes", "true_boxes", "true_labels", "boxes", "labels", "scores"):
            if len(getattr(self, field)) != count:
                raise ValueError(f"{len(getattr(self, field))} {field} for {count} image names")
        set_field(self, "image_sizes", tuple(_size(size, image) for image, size in enumerate(self.image_sizes)))
        true_boxes, true_labels, boxes, labels, scores = [], [], [], [], []
        for image in range(count):
            true_boxes.append(_boxes(self.true_boxes[image], image, "true_boxes"))
            true_labels.append(_labels(self.true_labels[image], len(true_boxes[-1]), num_classes, image, "true_labels"))
            boxes.append(_boxes(self.boxes[image], image, "boxes"))
            labels.append(_labels(self.labels[image], len(boxes[-1]), num_classes, image, "labels"))
            scores.append(_scores(self.scores[image], len(boxes[-1]), image))
        for field, arrays in [("true_boxes", true_boxes), ("true_labels", true_labels), ("boxes", boxes),
                              ("labels", labels), ("scores", scores)]:
            set_field(self, field, tuple(arrays))

    @property
    def count(self) -> int:
        """The number of images."""
        return len(self.image_names)

    @cached_property
    def true_counts(self) -> np.ndarray:
        """(C,) the true boxes of each class."""
        return np.bincount(np.concatenate(self.true_labels), minlength=len(self.class_names))

    @cached_property
    def evaluation(self) -> CocoEvaluation:
        """COCOeval's matching and precision of these boxes, computed once: the figures of modelPerformance
        (automl/detection_metrics.py) and the report's curves and worst images all read this one evaluation."""
        return evaluate(self)


def _size(size: Any, image: int) -> tuple[int, int]:
    values = np.asarray(size)
    numbers = values.shape == (2,) and np.issubdtype(values.dtype, np.number) and np.isfinite(values).all()
    if not numbers or (values != np.round(values)).any() or (values < 1).any():
        raise ValueError(f"image {image}: the size must be (width, height) in whole pixels, 1 or more, got {size!r}")
    return int(values[0]), int(values[1])


def _boxes(boxes: Sequence[Any] | np.ndarray, image: int, field: str) -> np.ndarray:
    values = np.array(boxes, dtype=np.float64)  # a copy: the caller's array is left writable
    if values.size == 0:
        values = values.reshape(0, 4)
    if values.ndim != 2 or values.shape[1] != 4:
        raise ValueError(f"image {image}: {field} must be (boxes, 4), got {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError(f"image {image}: {field} must be finite")
    # xyxy: a box given as x, y, width, height is caught here whenever its width is less than its x.
    if (values[:, 2] < values[:, 0]).any() or (values[:, 3] < values[:, 1]).any():
        raise ValueError(f"image {image}: {field} must be x1 y1 x2 y2 with x1 <= x2 and y1 <= y2")
    values.flags.writeable = False
    return values


def _labels(labels: Sequence[Any] | np.ndarray, count: int, num_classes: int, image: int, field: str) -> np.ndarray:
    values = np.asarray(labels)
    if values.shape != (count,):
        raise ValueError(f"image {image}: {field} must be ({count},), one per box, got {values.shape}")
    if values.size == 0:
        values = np.zeros(0, dtype=np.int64)  # [] is float to numpy
    if not np.issubdtype(values.dtype, np.number) or not np.isfinite(values).all():
        raise ValueError(f"image {image}: {field} must be class indices in [0, {num_classes})")
    whole = values.astype(np.int64)  # always a copy
    if (whole != values).any() or (whole < 0).any() or (whole >= num_classes).any():
        raise ValueError(f"image {image}: {field} must be class indices in [0, {num_classes})")
    whole.flags.writeable = False
    return whole


def _scores(scores: Sequence[Any] | np.ndarray, count: int, image: int) -> np.ndarray:
    values = np.array(scores, dtype=np.float64)
    if values.shape != (count,):
        raise ValueError(f"image {image}: scores must be ({count},), one per box, got {values.shape}")
    if not (np.isfinite(values) & (values >= 0.0) & (values <= 1.0)).all():
        raise ValueError(f"image {image}: scores must be confidences in [0, 1]")
    values.flags.writeable = False
    return values
