"""Detections matched to true boxes by pycocotools' COCOeval, the reference every published mAP is measured with:
its greedy matching, its 101-point interpolated precision and its recall, at IoU 0.3, 0.5 and 0.75, all areas,
at most 100 detections per image and class.

COCOeval prints as it works and has no switch to stop it, so it runs with stdout redirected; a lock keeps two
threads from redirecting at once (each would restore the other's buffer, and stdout would stay swallowed).
"""

from __future__ import annotations

import contextlib
import io
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

IOU_THRESHOLDS = (0.3, 0.5, 0.75)
MAX_DETECTIONS = 100  # per image and class, as COCO's headline figures count them
_QUIET = threading.Lock()


class Boxes(Protocol):
    """What is evaluated: a detector's boxes and the true boxes on each image (`DetectionPredictions`, which
    evaluates itself with this module, hence a protocol rather than an import)."""

    # Read-only properties: `DetectionPredictions` is a frozen dataclass, whose fields cannot be set.
    @property
    def count(self) -> int: ...
    @property
    def image_sizes(self) -> tuple[tuple[int, int], ...]: ...
    @property
    def class_names(self) -> tuple[str, ...]: ...
    @property
    def true_boxes(self) -> tuple[np.ndarray, ...]: ...
    @property
    def true_labels(self) -> tuple[np.ndarray, ...]: ...
    @property
    def boxes(self) -> tuple[np.ndarray, ...]: ...
    @property
    def labels(self) -> tuple[np.ndarray, ...]: ...
    @property
    def scores(self) -> tuple[np.ndarray, ...]: ...


@dataclass(frozen=True, eq=False)
class CocoEvaluation:
    iou_thresholds: np.ndarray  # (T,) IOU_THRESHOLDS
    recall_thresholds: np.ndarray  # (R,) COCOeval's 101 recall points 0, 0.01, ..., 1
    precision: np.ndarray  # (T, R, C) interpolated precision at each recall point; -1 for a class without true boxes
    recall: np.ndarray  # (T, C) the share of true boxes matched; -1 for a class without true boxes
    # Per image, aligned with DetectionPredictions' arrays; indices are within the image, -1 where nothing matched.
    detection_matches: tuple[np.ndarray, ...]  # (T, m) the true box each detection matched
    true_box_matches: tuple[np.ndarray, ...]  # (T, k) the detection that matched each true box
    evaluated: tuple[np.ndarray, ...]  # (m,) bool: among the MAX_DETECTIONS best of its image and class, so counted

    def iou_index(self, iou: float) -> int:
        found = np.flatnonzero(np.isclose(self.iou_thresholds, iou))
        if len(found) != 1:
            raise ValueError(f"IoU {iou} is not one of the evaluated thresholds {self.iou_thresholds.tolist()}")
        return int(found[0])

    def average_precision(self, iou: float) -> np.ndarray:
        """(C,) each class's AP at `iou`, as COCOeval.summarize averages it (the mean over the 101 recall points);
        NaN for a class without true boxes."""
        precision = self.precision[self.iou_index(iou)]
        return np.where(precision[0] < 0, np.nan, precision.mean(axis=0))

    def recall_at(self, iou: float) -> np.ndarray:
        """(C,) the share of each class's true boxes found at `iou`; NaN for a class without true boxes."""
        recall = self.recall[self.iou_index(iou)]
        return np.where(recall < 0, np.nan, recall)


def evaluate(predictions: Boxes, iou_thresholds: tuple[float, ...] = IOU_THRESHOLDS) -> CocoEvaluation:
    """COCOeval over every image, at `iou_thresholds` (those of the headline figures unless a caller, such as Custom
    Vision's overlap threshold, asks for others)."""
    images = [{"id": image + 1, "width": width, "height": height}
              for image, (width, height) in enumerate(predictions.image_sizes)]
    categories = [{"id": label + 1, "name": name} for label, name in enumerate(predictions.class_names)]
    true_boxes = _annotations(predictions.true_boxes, predictions.true_labels)
    detections = _annotations(predictions.boxes, predictions.labels, predictions.scores)
    with _QUIET, contextlib.redirect_stdout(io.StringIO()):
        # Both sides are built the same way, not with loadRes: loadRes fails on an empty list of detections.
        evaluation = COCOeval(_coco(images, categories, true_boxes), _coco(images, categories, detections), "bbox")
        params = evaluation.params
        params.iouThrs = np.array(iou_thresholds, dtype=np.float64)
        params.areaRng = params.areaRng[:1]  # "all" only: small, medium and large would only cost time
        params.areaRngLbl = params.areaRngLbl[:1]
        params.maxDets = [MAX_DETECTIONS]
        evaluation.evaluate()
        evaluation.accumulate()
    return CocoEvaluation(
        iou_thresholds=np.array(iou_thresholds, dtype=np.float64),
        recall_thresholds=np.array(params.recThrs),
        precision=evaluation.eval["precision"][:, :, :, 0, 0],
        recall=evaluation.eval["recall"][:, :, 0, 0],
        **_matches(predictions, evaluation.evalImgs, len(iou_thresholds)),
    )


def _annotations(boxes: tuple[np.ndarray, ...], labels: tuple[np.ndarray, ...],
                 scores: tuple[np.ndarray, ...] | None = None) -> list[dict[str, Any]]:
    """COCO annotations of every image's boxes, numbered 1, 2, ... in image order: the number less one is the box's
    index in the concatenation of all images' boxes. (COCOeval marks "no match" with 0, so no id may be 0.)"""
    annotations: list[dict[str, Any]] = []
    for image, image_boxes in enumerate(boxes):
        for index, (x1, y1, x2, y2) in enumerate(image_boxes.tolist()):
            width, height = x2 - x1, y2 - y1
            annotation = {
                "id": len(annotations) + 1, "image_id": image + 1, "category_id": int(labels[image][index]) + 1,
                "bbox": [x1, y1, width, height], "area": width * height, "iscrowd": 0,  # 1 would mean "ignore"
            }
            if scores is not None:
                annotation["score"] = float(scores[image][index])
            annotations.append(annotation)
    return annotations


def _coco(images: list[dict], categories: list[dict], annotations: list[dict]) -> COCO:
    coco = COCO()
    coco.dataset = {"images": images, "categories": categories, "annotations": annotations}
    coco.createIndex()
    return coco


def _matches(predictions: Boxes, evaluated_images: list[dict | None], thresholds: int) -> dict[str, Any]:
    """COCOeval's per image and class matches (annotation ids, 0 for none) as per-image box indices (-1 for none)."""
    true_starts = _starts(predictions.true_boxes)
    detection_starts = _starts(predictions.boxes)
    detection_matches = np.full((thresholds, detection_starts[-1]), -1, dtype=np.int64)
    true_box_matches = np.full((thresholds, true_starts[-1]), -1, dtype=np.int64)
    evaluated = np.zeros(detection_starts[-1], dtype=bool)
    for result in evaluated_images:
        if result is None:  # neither a true box nor a detection of this class in this image
            continue
        detections = np.asarray(result["dtIds"], dtype=np.int64) - 1
        true_boxes = np.asarray(result["gtIds"], dtype=np.int64) - 1
        evaluated[detections] = True
        detection_matches[:, detections] = result["dtMatches"].astype(np.int64) - 1
        true_box_matches[:, true_boxes] = result["gtMatches"].astype(np.int64) - 1
    images = range(predictions.count)
    # Ids in the whole set become indices within the image: less the image's first index, -1 staying -1.
    return {
        "detection_matches": tuple(_local(detection_matches, detection_starts, true_starts, image) for image in images),
        "true_box_matches": tuple(_local(true_box_matches, true_starts, detection_starts, image) for image in images),
        "evaluated": tuple(evaluated[detection_starts[image]:detection_starts[image + 1]] for image in images),
    }


def _starts(per_image: tuple[np.ndarray, ...]) -> np.ndarray:
    """(n + 1,) where each image's boxes start in the concatenation of all images' boxes, and the total."""
    return np.concatenate([[0], np.cumsum([len(boxes) for boxes in per_image])]).astype(np.int64)


def _local(matches: np.ndarray, own_starts: np.ndarray, other_starts: np.ndarray, image: int) -> np.ndarray:
    mine = matches[:, own_starts[image]:own_starts[image + 1]]
    return np.where(mine >= 0, mine - other_starts[image], -1)
