"""modelPerformance against figures worked out by hand on tiny fixed predictions."""

from __future__ import annotations

import numpy as np
import pytest

from tailor.automl.metrics import classification_performance

NAMES = ("cat", "dog", "fox")


def test_single_label_figures() -> None:
    scores = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.2, 0.3, 0.5]])
    targets = np.array([0, 1, 1, 2])
    got = classification_performance(scores, targets, NAMES, multilabel=False)
    assert got["accuracyTop1"] == pytest.approx(0.75)  # the third image is a dog taken for a cat
    assert got["accuracyTop5"] == 1.0  # 3 classes: every true class is in the top 5
    # dog: ranked .6 (dog), .3 (fox), then .2 twice (a cat and the second dog): AP = .5 x 1 + .5 x 2/4 = .75
    assert got["tagPerformance"]["dog"] == {"accuracy": 0.5, "averagePrecision50": pytest.approx(0.75)}
    assert got["tagPerformance"]["cat"] == {"accuracy": 1.0, "averagePrecision50": 1.0}
    assert got["averagePrecision"] == pytest.approx((1 + 0.75 + 1) / 3)
    # confidences .7 (right), .6 (right), .5 and .5 (one right): ECE = 1/4 x .3 + 1/4 x .4 + 2/4 x |.5 - .5|
    assert got["calibrationECE"] == pytest.approx(0.175, abs=1e-6)


def test_top5_counts_a_true_class_ranked_fifth() -> None:
    scores = np.tile(np.linspace(0.3, 0.01, 7), (2, 1))  # class 0 first ... class 6 last, for both images
    got = classification_performance(scores, np.array([4, 5]), tuple("abcdefg"), multilabel=False)
    assert got["accuracyTop1"] == 0.0 and got["accuracyTop5"] == 0.5


def test_a_class_without_images_has_no_figures_rather_than_nan() -> None:
    scores = np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1]])
    got = classification_performance(scores, np.array([0, 1]), NAMES, multilabel=False)
    assert got["tagPerformance"]["fox"] == {"accuracy": None, "averagePrecision50": None}
    assert got["averagePrecision"] == 1.0  # the mean over classes that have images


def test_multilabel_figures_at_per_tag_thresholds() -> None:
    scores = np.array([[0.9, 0.2, 0.8], [0.4, 0.35, 0.6], [0.6, 0.1, 0.75], [0.2, 0.25, 0.1]])
    targets = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 0], [0, 1, 1]])
    got = classification_performance(scores, targets, NAMES, multilabel=True, thresholds=(0.5, 0.3, 0.7))
    cat, dog, fox = (got["tagPerformance"][n] for n in NAMES)
    assert cat == {"accuracy": 1.0, "averagePrecision50": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0,
                   "threshold": 0.5}
    # dog at .3: says yes to image 2 only; images 2 and 4 are dogs: P = 1, R = 1/2, F1 = 2/3
    assert (dog["precision"], dog["recall"], dog["f1"], dog["accuracy"]) == pytest.approx((1.0, 0.5, 2 / 3, 0.75))
    # fox at .7: yes to images 1 and 3; foxes are 1 and 4: P = R = F1 = 1/2
    assert (fox["precision"], fox["recall"], fox["f1"], fox["accuracy"]) == pytest.approx((0.5, 0.5, 0.5, 0.5))
    # fox ranked .8 (fox), .75, .6, .1 (fox): AP = .5 x 1 + .5 x 2/4
    assert fox["averagePrecision50"] == pytest.approx(0.75)
    # the top tag is a true one for images 1 and 4 only
    assert got["accuracyTop1"] == pytest.approx(0.5)
