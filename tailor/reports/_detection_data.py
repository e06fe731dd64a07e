"""The numbers of a detector's report, read from COCOeval's evaluation of the predictions (the one that
modelPerformance's figures come from), as plain JSON values (null where a value is undefined)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._detection_predictions import DetectionPredictions
from ._detection_ranking import IOU, ImageErrors

CONFIDENCE_STEPS = 100  # the sweep's thresholds: 0, 0.01, ..., 1
_DECIMALS = 5


def per_class(predictions: DetectionPredictions) -> list[dict[str, Any]]:
    """Each class's true boxes, detections, AP at IoU 0.3, 0.5 and 0.75, and the share of its true boxes found at
    IoU 0.5; null where the class has no true box."""
    evaluation = predictions.evaluation
    average_precision = {iou: evaluation.average_precision(iou) for iou in (0.3, 0.5, 0.75)}
    recall = evaluation.recall_at(IOU)
    detections = np.bincount(np.concatenate(predictions.labels), minlength=len(predictions.class_names))
    return [
        {
            "className": name,
            "trueBoxes": int(predictions.true_counts[c]),
            "detections": int(detections[c]),
            "averagePrecision30": _finite(average_precision[0.3][c]),
            "averagePrecision50": _finite(average_precision[0.5][c]),
            "averagePrecision75": _finite(average_precision[0.75][c]),
            "recall50": _finite(recall[c]),
        }
        for c, name in enumerate(predictions.class_names)
    ]


def curves(predictions: DetectionPredictions) -> list[dict[str, Any]]:
    """Each class's precision-recall curve at IoU 0.5 as COCOeval interpolates it: precision at the 101 recall
    points 0, 0.01, ..., 1 (0 past the highest recall reached), whose mean is the class's AP; null for a class
    without true boxes."""
    evaluation = predictions.evaluation
    precision = evaluation.precision[evaluation.iou_index(IOU)]
    recall = np.round(evaluation.recall_thresholds, _DECIMALS).tolist()
    return [
        {
            "className": name,
            "precisionRecall": None if predictions.true_counts[c] == 0 else {
                "recall": recall, "precision": np.round(precision[:, c], _DECIMALS).tolist(),
            },
        }
        for c, name in enumerate(predictions.class_names)
    ]


def confidence_sweep(predictions: DetectionPredictions) -> dict[str, Any]:
    """Precision and recall at IoU 0.5, pooled over the classes, of the detections scoring each threshold or more:
    what a user who sets that confidence floor gets. Matches are COCOeval's, which a floor does not change (it
    matches from the most confident detection down). Precision is null where no detection is left, recall where
    there is no true box."""
    evaluation = predictions.evaluation
    at = evaluation.iou_index(IOU)
    counted = np.concatenate(evaluation.evaluated)
    scores = np.concatenate(predictions.scores)[counted]
    right = (np.concatenate([matches[at] for matches in evaluation.detection_matches]) >= 0)[counted]
    thresholds = np.arange(CONFIDENCE_STEPS + 1) / CONFIDENCE_STEPS  # exact: 30 / 100 is the float 0.3, as typed
    order = np.argsort(scores, kind="stable")
    # Detections at or above each threshold: those from its place in the ascending scores to the end.
    first = np.searchsorted(scores[order], thresholds, side="left")
    right_from = np.concatenate([np.cumsum(right[order][::-1])[::-1], [0]])
    kept = len(scores) - first
    true_positives = right_from[first]
    true_boxes = int(predictions.true_counts.sum())
    return {
        "confidence": np.round(thresholds, _DECIMALS).tolist(),
        "detections": kept.tolist(),
        "precision": [round(float(tp / n), _DECIMALS) if n else None for tp, n in zip(true_positives, kept)],
        "recall": [round(float(tp / true_boxes), _DECIMALS) if true_boxes else None for tp in true_positives],
    }


def worst_rows(
    predictions: DetectionPredictions, shown: Sequence[ImageErrors], thumbnail_names: Mapping[int, str]
) -> list[dict[str, Any]]:
    """The table of the worst detected images: the classes of the missed true boxes, and the false positives with
    their confidences, most confident first."""
    names = predictions.class_names
    return [
        {
            "imageIndex": errors.image,
            "image": predictions.image_names[errors.image],
            "trueBoxes": len(predictions.true_boxes[errors.image]),
            "missed": [names[label] for label in predictions.true_labels[errors.image][errors.missed]],
            "falsePositives": [
                {"className": names[predictions.labels[errors.image][d]],
                 "confidence": float(predictions.scores[errors.image][d])}
                for d in errors.false_positives
            ],
            "severity": round(errors.severity, _DECIMALS),
            "thumbnail": thumbnail_names.get(errors.image),
        }
        for errors in shown
    ]


def _finite(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
