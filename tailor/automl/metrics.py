"""modelPerformance of API.md for classifiers, computed with scikit-learn and torchmetrics."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from sklearn.metrics import average_precision_score, precision_recall_fscore_support, top_k_accuracy_score
from torchmetrics.functional.classification import binary_calibration_error, multiclass_calibration_error


def classification_performance(
    scores: np.ndarray, targets: np.ndarray, class_names: Sequence[str], *, multilabel: bool, thresholds=None
) -> dict[str, object]:
    """`scores` are probabilities (softmax, or per-tag sigmoid when multilabel); `targets` are class indices, or a
    multi-hot matrix when multilabel."""
    num_classes = len(class_names)
    hot = targets.astype(bool) if multilabel else np.eye(num_classes, dtype=bool)[targets]
    ranked = np.argsort(-scores, axis=1)
    top1 = hot[np.arange(len(scores)), ranked[:, 0]].mean()
    k = min(5, num_classes)
    if multilabel:
        top5 = hot[np.arange(len(scores))[:, None], ranked[:, :k]].any(axis=1).mean()
        ece = binary_calibration_error(torch.from_numpy(scores.ravel()).float(), torch.from_numpy(hot.ravel()).long())
    else:
        # With 5 classes or fewer every true class is in the top 5.
        top5 = top_k_accuracy_score(targets, scores, k=k, labels=np.arange(num_classes)) if num_classes > 5 else 1.0
        ece = multiclass_calibration_error(
            torch.from_numpy(scores).float(), torch.from_numpy(targets).long(), num_classes=num_classes, n_bins=15
        )
    present = hot.any(axis=0)
    per_class_ap = np.full(num_classes, np.nan)
    for column in np.flatnonzero(present):
        per_class_ap[column] = average_precision_score(hot[:, column], scores[:, column])
    tags = {}
    if multilabel:
        cut = np.full(num_classes, 0.5) if thresholds is None else np.asarray(thresholds, dtype=float)
        decided = scores >= cut
        precision, recall, f1, _ = precision_recall_fscore_support(hot, decided, average=None, zero_division=0)
    for c, name in enumerate(class_names):
        if multilabel:
            tags[name] = {
                "accuracy": float((decided[:, c] == hot[:, c]).mean()),
                "averagePrecision50": _finite(per_class_ap[c]),
                # (ours) what the per-tag threshold gives: the decisions analyze users act on
                "precision": float(precision[c]), "recall": float(recall[c]), "f1": float(f1[c]),
                "threshold": float(cut[c]),
            }
            continue
        mine = targets == c
        accuracy = float((ranked[mine, 0] == c).mean()) if mine.any() else float("nan")
        tags[name] = {"accuracy": _finite(accuracy), "averagePrecision50": _finite(per_class_ap[c])}
    return {
        "accuracyTop1": float(top1),
        "accuracyTop5": float(top5),
        "averagePrecision": float(np.nanmean(per_class_ap)) if present.any() else 0.0,
        "calibrationECE": float(ece),
        "tagPerformance": tags,
    }


def _finite(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
