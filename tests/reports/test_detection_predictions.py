"""DetectionPredictions are checked once, where they come in: a wrong shape is a clear ValueError, not a wrong
report; images without boxes are normal."""

from __future__ import annotations

import numpy as np
import pytest

from tailor.reports import DetectionPredictions

BOX = [[10.0, 20.0, 30.0, 40.0]]


def one_image(**changes: object) -> DetectionPredictions:
    fields = dict(
        class_names=("cat",), image_names=("a.jpg",), image_sizes=((640, 480),), true_boxes=(BOX,),
        true_labels=([0],), boxes=(BOX,), labels=([0],), scores=([0.5],),
    )
    return DetectionPredictions(**{**fields, **changes})


def test_inputs_are_normalised_to_tuples_and_read_only_copies() -> None:
    mine = np.array(BOX)
    predictions = one_image(class_names=["cat"], image_names=["a.jpg"], image_sizes=[[640.0, 480.0]], boxes=[mine])
    assert predictions.class_names == ("cat",) and predictions.image_sizes == ((640, 480),)
    assert type(predictions.image_sizes[0][0]) is int
    assert predictions.boxes[0].dtype == np.float64 and predictions.true_labels[0].dtype == np.int64
    assert predictions.boxes[0] is not mine and mine.flags.writeable  # the caller's array is left as it was
    with pytest.raises(ValueError, match="read-only"):
        predictions.boxes[0][0, 0] = 0.0  # the evaluation, computed once, stays true to the boxes


def test_images_without_boxes_are_normal() -> None:
    predictions = one_image(true_boxes=([],), true_labels=([],), boxes=(np.zeros((0, 4)),), labels=([],),
                            scores=([],))
    assert predictions.true_boxes[0].shape == (0, 4) and predictions.boxes[0].shape == (0, 4)
    assert predictions.true_labels[0].shape == (0,) and predictions.true_labels[0].dtype == np.int64
    assert predictions.scores[0].shape == (0,)
    assert predictions.true_counts.tolist() == [0]


def test_true_counts_count_each_class() -> None:
    predictions = DetectionPredictions(
        ("cat", "dog", "fox"), ("a", "b"), ((10, 10), (10, 10)), (BOX * 2, BOX), ([0, 2], [2]), ([], []), ([], []),
        ([], []),
    )
    assert predictions.true_counts.tolist() == [1, 0, 2] and predictions.count == 2


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(class_names=()), "at least 1 class"),
        (dict(image_names=(), image_sizes=(), true_boxes=(), true_labels=(), boxes=(), labels=(), scores=()),
         "at least one image"),
        (dict(scores=([0.5], [0.5])), "2 scores for 1 image names"),
        (dict(image_sizes=((640,),)), "image 0: the size must be"),
        (dict(image_sizes=((640, 0),)), "the size must be"),
        (dict(image_sizes=((640.5, 480),)), "whole pixels"),
        (dict(true_boxes=([[1.0, 2.0, 3.0]],)), r"true_boxes must be \(boxes, 4\), got \(1, 3\)"),
        (dict(boxes=([[1.0, 2.0, np.inf, 4.0]],)), "boxes must be finite"),
        (dict(boxes=([[100.0, 100.0, 20.0, 20.0]],)), "x1 <= x2 and y1 <= y2"),  # x, y, width, height by mistake
        (dict(true_labels=([0, 0],)), r"true_labels must be \(1,\), one per box"),
        (dict(labels=([1],)), r"class indices in \[0, 1\)"),
        (dict(labels=([-1],)), "class indices"),
        (dict(labels=([0.5],)), "class indices"),
        (dict(labels=(["cat"],)), "class indices"),
        (dict(scores=([1.5],)), r"confidences in \[0, 1\]"),
        (dict(scores=([np.nan],)), "confidences"),
        (dict(scores=([0.5, 0.4],)), r"scores must be \(1,\)"),
    ],
)
def test_malformed_predictions_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        one_image(**changes)


def test_the_image_at_fault_is_named() -> None:
    with pytest.raises(ValueError, match="image 1: boxes"):
        DetectionPredictions(("cat",), ("a", "b"), ((9, 9), (9, 9)), ([], []), ([], []), ([], [[1, 2, 3]]),
                             ([], [0]), ([], [0.5]))
