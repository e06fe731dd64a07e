"""The numbers of a report, computed with scikit-learn, as plain JSON values (null where a value is undefined)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    multilabel_confusion_matrix,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)

from ._predictions import Predictions
from ._ranking import Mistake

# 15 equal-width bins, as torchmetrics uses for the calibrationECE that automl/metrics.py reports: the diagram then
# shows exactly the gaps that number averages.
RELIABILITY_BINS = 15
# Enough to draw a curve smoothly at report size; a raw curve has a point per distinct score, i.e. per image.
MAX_CURVE_POINTS = 200
_CURVE_DECIMALS = 5


def confusion(predictions: Predictions) -> list:
    """Multiclass: C x C counts, rows = true class, columns = predicted class. Multilabel: per tag [[tn, fp],
    [fn, tp]] at the tag's threshold."""
    if predictions.multilabel:
        matrix = multilabel_confusion_matrix(predictions.truth, predictions.decided)
    else:
        labels = np.arange(len(predictions.class_names))
        matrix = confusion_matrix(predictions.targets, predictions.top1, labels=labels)
    return matrix.tolist()


def per_class(predictions: Predictions) -> list[dict[str, Any]]:
    """Precision, recall and F1 of the decisions (top-1, or each tag at its threshold), and the threshold-free
    average precision and ROC AUC of each class's scores; null where the class never occurs (or, for ROC AUC,
    always occurs)."""
    truth, scores = predictions.truth, predictions.scores
    if predictions.multilabel:
        decisions = dict(y_true=truth, y_pred=predictions.decided)
    else:
        decisions = dict(y_true=predictions.targets, y_pred=predictions.top1, labels=np.arange(truth.shape[1]))
    precision, recall, f1, support = precision_recall_fscore_support(**decisions, average=None, zero_division=0)
    rows = []
    for c, name in enumerate(predictions.class_names):
        positives = int(truth[:, c].sum())
        rows.append({
            "className": name,
            "precision": float(precision[c]),
            "recall": float(recall[c]),
            "f1": float(f1[c]),
            "support": int(support[c]),
            "averagePrecision": float(average_precision_score(truth[:, c], scores[:, c])) if positives else None,
            "rocAuc": float(roc_auc_score(truth[:, c], scores[:, c])) if _both_kinds(positives, predictions) else None,
        })
    return rows


def curves(predictions: Predictions) -> list[dict[str, Any]]:
    """Precision-recall and ROC curves of each class (one-vs-rest), thinned to MAX_CURVE_POINTS; null where the
    class never occurs (or, for ROC, always occurs)."""
    truth, scores = predictions.truth, predictions.scores
    result = []
    for c, name in enumerate(predictions.class_names):
        positives = int(truth[:, c].sum())
        entry: dict[str, Any] = {"className": name, "precisionRecall": None, "roc": None}
        if positives:
            precision, recall, _ = precision_recall_curve(truth[:, c], scores[:, c])
            entry["precisionRecall"] = _thinned(recall=recall, precision=precision)
        if _both_kinds(positives, predictions):
            false_positive_rate, true_positive_rate, _ = roc_curve(truth[:, c], scores[:, c])
            entry["roc"] = _thinned(falsePositiveRate=false_positive_rate, truePositiveRate=true_positive_rate)
        result.append(entry)
    return result


def reliability(predictions: Predictions, bins: int = RELIABILITY_BINS) -> list[dict[str, Any]]:
    """Equal-width confidence bins. Multiclass: the top-1 probability against whether top-1 is right. Multilabel:
    every (image, tag) score against whether the image has the tag, as torchmetrics' binary calibration error
    counts it; `accuracy` is then the observed frequency of the tag."""
    if predictions.multilabel:
        confidence, correct = predictions.scores.ravel(), predictions.truth.ravel()
    else:
        confidence = predictions.scores.max(axis=1)
        correct = predictions.top1 == predictions.targets
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bins are [lower, upper), the last one closed, as torchmetrics bins (bucketize with right=True).
    index = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    counts = np.bincount(index, minlength=bins)
    confidence_sums = np.bincount(index, weights=confidence, minlength=bins)
    correct_sums = np.bincount(index, weights=correct.astype(np.float64), minlength=bins)
    return [
        {
            "lower": float(edges[b]),
            "upper": float(edges[b + 1]),
            "count": int(counts[b]),
            "meanConfidence": float(confidence_sums[b] / counts[b]) if counts[b] else None,
            "accuracy": float(correct_sums[b] / counts[b]) if counts[b] else None,
        }
        for b in range(bins)
    ]


def mistake_rows(
    predictions: Predictions, shown: Sequence[Mistake], thumbnail_names: Mapping[int, str]
) -> list[dict[str, Any]]:
    """The table of the most confidently wrong images. `confidence` is the score of the misjudged class."""
    names = predictions.class_names
    return [
        {
            "row": mistake.row,
            "image": predictions.image_names[mistake.row],
            "trueLabels": [names[c] for c in np.flatnonzero(predictions.truth[mistake.row])],
            "predictedLabels": [names[c] for c in np.flatnonzero(predictions.decided[mistake.row])],
            "misjudgedLabel": names[mistake.misjudged_class],
            "confidence": float(predictions.scores[mistake.row, mistake.misjudged_class]),
            "thumbnail": thumbnail_names.get(mistake.row),
        }
        for mistake in shown
    ]


def plain_json(value: Any) -> Any:
    """`value` with numpy scalars and arrays made plain and NaN or infinite numbers made null, so that it dumps
    with allow_nan=False (the modelPerformance handed in may hold NaN for a class without images)."""
    if isinstance(value, Mapping):
        return {str(key): plain_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain_json(item) for item in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _both_kinds(positives: int, predictions: Predictions) -> bool:
    """ROC needs positives and negatives both."""
    return 0 < positives < predictions.count


def _thinned(**columns: np.ndarray) -> dict[str, list[float]]:
    """Evenly spaced points of equal-length columns, the first and the last always kept."""
    length = len(next(iter(columns.values())))
    keep = np.unique(np.linspace(0, length - 1, min(length, MAX_CURVE_POINTS)).round().astype(int))
    return {name: np.round(column[keep], _CURVE_DECIMALS).tolist() for name, column in columns.items()}
