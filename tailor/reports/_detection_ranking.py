"""The worst detected images: those whose true boxes a user would miss and whose false alarms a user would see.

What a user sees is the detections scoring SHOWN_CONFIDENCE or more (the ones the thumbnails draw), matched at
IoU 0.5 as COCOeval matched them. COCOeval matches greedily from the most confident detection down, so keeping only
the detections above a floor keeps exactly their matches: the errors below are those at that floor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._detection_predictions import DetectionPredictions

IOU = 0.5  # the IoU at which the report's curves, confidence sweep and worst images match boxes
SHOWN_CONFIDENCE = 0.3  # detections scoring this or more are drawn, and count as seen


@dataclass(frozen=True)
class ImageErrors:
    image: int
    missed: np.ndarray  # indices of the image's true boxes that no shown detection matched
    false_positives: np.ndarray  # indices of its shown detections that matched no true box, most confident first
    severity: float  # what the ranking sorts on: the missed boxes, plus the confidence of each false positive


def image_errors(predictions: DetectionPredictions) -> list[ImageErrors]:
    """Every image with a missed true box or a shown false positive, worst first; ties keep the order of the
    images."""
    evaluation = predictions.evaluation
    at = evaluation.iou_index(IOU)
    found = []
    for image in range(predictions.count):
        scores = predictions.scores[image]
        shown = scores >= SHOWN_CONFIDENCE
        matched_by = evaluation.true_box_matches[image][at]
        # A detection past the 100 best of its image and class was never matched by COCOeval: not counted either way.
        seen = np.zeros(len(matched_by), dtype=bool)
        seen[matched_by >= 0] = shown[matched_by[matched_by >= 0]]
        missed = np.flatnonzero(~seen)
        false = np.flatnonzero(shown & evaluation.evaluated[image] & (evaluation.detection_matches[image][at] < 0))
        false = false[np.argsort(-scores[false], kind="stable")]
        if len(missed) or len(false):
            found.append(ImageErrors(image, missed, false, float(len(missed) + scores[false].sum())))
    return sorted(found, key=lambda errors: -errors.severity)  # sorted is stable


def worst_detected(predictions: DetectionPredictions, k: int = 12) -> list[int]:
    """Indices of the k worst detected images, worst first: ranked by their true boxes missed plus the confidences of
    their false positives, both at IoU 0.5 among the detections scoring 0.3 or more (those a report's thumbnails
    draw). A caller passes write_report the thumbnails of these images."""
    if k < 0:
        raise ValueError(f"k must be 0 or more, got {k}")
    return [errors.image for errors in image_errors(predictions)[:k]]
