"""Predictions are checked once, where they come in: a wrong shape is a clear ValueError, not a wrong report."""

from __future__ import annotations

import numpy as np
import pytest

from tailor.reports import Predictions

NAMES = ("x", "y")


def test_inputs_are_normalised_to_tuples_and_arrays() -> None:
    predictions = Predictions(["a", "b"], False, [[0.4, 0.6], [0.9, 0.1]], [1, 0], ["x", "y"])
    assert predictions.class_names == ("a", "b") and predictions.image_names == NAMES
    assert predictions.scores.dtype == np.float64 and predictions.targets.dtype == np.int64


@pytest.mark.parametrize(
    "arguments, message",
    [
        ((("a",), False, [[1.0], [1.0]], [0, 0], NAMES), "at least 2 classes"),
        ((("a", "b"), False, [[0.5, 0.5, 0.0]] * 2, [0, 0], NAMES), "scores must be"),
        ((("a", "b"), False, np.zeros((0, 2)), [], ()), "at least one image"),
        ((("a", "b"), False, [[np.nan, 1.0], [0.5, 0.5]], [0, 0], NAMES), "finite"),
        ((("a", "b"), False, [[0.5, 0.5]] * 2, [0, 0], ("x",)), "1 image names for 2 rows"),
        ((("a", "b"), False, [[0.5, 0.5]] * 2, [0, 2], NAMES), "class indices"),
        ((("a", "b"), True, [[0.5, 0.5]] * 2, [0, 1], NAMES), "0/1 matrix"),
        ((("a", "b"), True, [[0.5, 0.5]] * 2, [[0, 2], [1, 1]], NAMES), "0/1 matrix"),
    ],
)
def test_malformed_predictions_are_refused(arguments: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Predictions(*arguments)


def test_thresholds_are_for_multilabel_and_one_per_tag() -> None:
    with pytest.raises(ValueError, match="multilabel predictions only"):
        Predictions(("a", "b"), False, [[0.5, 0.5]], [0], ("x",), thresholds=(0.5, 0.5))
    with pytest.raises(ValueError, match="1 thresholds for 2 tags"):
        Predictions(("a", "b"), True, [[0.5, 0.5]], [[0, 1]], ("x",), thresholds=(0.5,))
