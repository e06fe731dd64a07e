"""modelPerformance of API.md for detectors, from pycocotools' COCOeval.

The evaluation itself (the COCO sets built in memory, COCOeval at IoU 0.3, 0.5 and 0.75) belongs to the predictions
(`DetectionPredictions.evaluation`, in tailor/reports): it is run once, and the report's curves and worst images
read the same matches as these figures, so that they always agree.
"""

from __future__ import annotations

import numpy as np

from ..reports import DetectionPredictions


def detection_performance(predictions: DetectionPredictions) -> dict[str, object]:
    """meanAveragePrecision30, meanAveragePrecision50, meanAveragePrecision75: COCO's 101-point interpolated AP
    (all areas, at most 100 detections per image and class) at IoU 0.3, 0.5 and 0.75, averaged over the classes
    that have at least one true box; null when no class has one. tagPerformance: per class, its averagePrecision30,
    averagePrecision50, averagePrecision75, recall50 (the share of its true boxes found at IoU 0.5) and count (its
    true boxes); the figures of a class without true boxes are null, never NaN."""
    evaluation = predictions.evaluation
    average_precision = {iou: evaluation.average_precision(iou) for iou in (0.3, 0.5, 0.75)}
    recall50 = evaluation.recall_at(0.5)
    tags = {
        name: {
            "averagePrecision50": _finite(average_precision[0.5][c]),
            "averagePrecision30": _finite(average_precision[0.3][c]),
            "averagePrecision75": _finite(average_precision[0.75][c]),
            "recall50": _finite(recall50[c]),
            "count": int(predictions.true_counts[c]),
        }
        for c, name in enumerate(predictions.class_names)
    }
    return {
        "meanAveragePrecision30": _mean(average_precision[0.3]),
        "meanAveragePrecision50": _mean(average_precision[0.5]),
        "meanAveragePrecision75": _mean(average_precision[0.75]),
        "tagPerformance": tags,
    }


def _mean(per_class: np.ndarray) -> float | None:
    """The mean over the classes with true boxes (the others are NaN)."""
    present = per_class[~np.isnan(per_class)]
    return float(present.mean()) if len(present) else None


def _finite(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
