"""Custom Vision's precision, recall and AP at any threshold, from held-out predictions, checked by hand counts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tailor.customvision.performance import classification_performance, detection_performance
from tailor.reports import DetectionPredictions, Predictions


def test_classification_counts_at_the_threshold() -> None:
    held_out = Predictions(("a", "b"), False, np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.45, 0.55]]),
                           np.array([0, 1, 1, 0]), ("1", "2", "3", "4"))
    at_half = classification_performance(held_out, {"a": "id-a", "b": "id-b"}, 0.5)
    a, b = at_half.per_tag
    assert (a.id, a.precision, a.recall) == ("id-a", 0.5, 0.5)  # predicted 1 and 2; right on 1 of 2 a's
    assert (b.precision, b.recall) == (0.5, 0.5)  # predicted 3 and 4; right on 3
    assert a.precision_std == pytest.approx(math.sqrt(0.25 / 2))
    assert at_half.precision == 0.5 and at_half.recall == 0.5
    at_high = classification_performance(held_out, {}, 0.8)
    assert (at_high.per_tag[0].precision, at_high.per_tag[0].recall) == (1.0, 0.5)
    assert at_high.per_tag[1].precision == 0.0 and at_high.recall == 0.25
    assert 0 < at_half.average_precision <= 1


def test_detection_counts_at_the_threshold_and_overlap() -> None:
    truth = np.array([[10, 10, 50, 50], [60, 60, 90, 90]], dtype=float)
    found = np.array([[12, 12, 50, 50], [60, 60, 75, 75], [0, 0, 5, 5]], dtype=float)
    held_out = DetectionPredictions(("x",), ("1",), ((100, 100),), (truth,), (np.array([0, 0]),), (found,),
                                    (np.array([0, 0, 0]),), (np.array([0.9, 0.8, 0.4]),))
    loose = detection_performance(held_out, {"x": "id-x"}, 0.5, 0.2)
    assert (loose.per_tag[0].precision, loose.per_tag[0].recall) == (1.0, 1.0)  # the small box overlaps 0.25
    strict = detection_performance(held_out, {"x": "id-x"}, 0.5, 0.5)
    assert (strict.per_tag[0].precision, strict.per_tag[0].recall) == (0.5, 0.5)
    everything = detection_performance(held_out, {"x": "id-x"}, 0.1, 0.2)
    assert everything.per_tag[0].precision == pytest.approx(2 / 3)
    assert strict.average_precision < loose.average_precision
