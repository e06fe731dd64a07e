"""The most confidently wrong predictions: the images a person should look at first."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._predictions import Predictions


@dataclass(frozen=True)
class Mistake:
    row: int
    misjudged_class: int  # multiclass: the wrongly predicted class; multilabel: the tag decided furthest astray
    severity: float  # what the ranking sorts on: the wrong class's probability, or the distance past the threshold


def mistakes(predictions: Predictions) -> list[Mistake]:
    """Every wrongly predicted image, worst first; ties keep the order of the rows."""
    if predictions.multilabel:
        wrong = predictions.decided != predictions.truth
        distance = np.where(wrong, np.abs(predictions.scores - predictions.threshold_per_class), -np.inf)
        misjudged = distance.argmax(axis=1)
        severity = distance[np.arange(predictions.count), misjudged]
        rows = np.flatnonzero(wrong.any(axis=1))
    else:
        misjudged = predictions.top1
        severity = predictions.scores[np.arange(predictions.count), misjudged]
        rows = np.flatnonzero(misjudged != predictions.targets)
    ranked = rows[np.argsort(-severity[rows], kind="stable")]
    return [Mistake(int(row), int(misjudged[row]), float(severity[row])) for row in ranked]


def most_confidently_wrong(predictions: Predictions, k: int = 12) -> list[int]:
    """Row indices of the k most confidently wrong predictions, worst first (multiclass: top-1 wrong, ranked by the
    wrong class's probability; multilabel: a tag decided wrongly at its threshold, ranked by how far past it)."""
    if k < 0:
        raise ValueError(f"k must be 0 or more, got {k}")
    return [mistake.row for mistake in mistakes(predictions)[:k]]
