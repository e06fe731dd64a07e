"""modelPerformance of detectors against figures worked out by hand on tiny fixed sets of boxes.

Boxes are x1 y1 x2 y2 in pixels. AP is COCO's: precision made non-increasing from the right, read at the 101 recall
points 0, 0.01, ..., 1, and averaged.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tailor.automl.detection_metrics import detection_performance
from tailor.reports import DetectionPredictions

NOTHING = np.zeros((0, 4))


def detected(class_names: tuple[str, ...], images: list[tuple[list, list, list, list, list]]) -> DetectionPredictions:
    """One (true boxes, true labels, boxes, labels, scores) per image, every image 1000 x 1000 pixels."""
    return DetectionPredictions(
        class_names,
        tuple(f"image-{i}.jpg" for i in range(len(images))),
        tuple((1000, 1000) for _ in images),
        *(tuple(image[field] for image in images) for field in range(5)),
    )


def far_box(i: int) -> list[float]:
    """A 50 x 50 box that touches no other far_box and none of the boxes of these tests."""
    return [500.0 + 60 * i, 900.0, 550.0 + 60 * i, 950.0]


def test_one_detection_at_iou_0_6_counts_at_0_3_and_0_5_not_0_75() -> None:
    # True 100 x 100; detected 100 x 60 inside it: IoU = 6000 / 10000.
    got = detected(("cat",), [([[10, 20, 110, 120]], [0], [[10, 20, 110, 80]], [0], [0.9])])
    performance = detection_performance(got)
    assert (performance["meanAveragePrecision30"], performance["meanAveragePrecision50"],
            performance["meanAveragePrecision75"]) == pytest.approx((1.0, 1.0, 0.0))
    assert performance["tagPerformance"] == {"cat": {
        "averagePrecision50": pytest.approx(1.0), "averagePrecision30": pytest.approx(1.0), "averagePrecision75": 0.0,
        "recall50": 1.0, "count": 1,
    }}


def test_boxes_are_x1_y1_x2_y2_in_pixels() -> None:
    # As x1 y1 x2 y2: two 10 x 10 boxes, 2 px apart: IoU = 80 / 120 = 0.67, a match at 0.5 but not at 0.75.
    # Read as x y w h they would be 20 x 10 and 22 x 10: IoU = 180 / 240 = 0.75, a match at 0.75 too.
    got = detection_performance(detected(("cat",), [([[10, 0, 20, 10]], [0], [[12, 0, 22, 10]], [0], [0.9])]))
    assert (got["meanAveragePrecision50"], got["meanAveragePrecision75"]) == pytest.approx((1.0, 0.0))


def test_a_false_positive_above_a_true_positive_halves_that_class_alone() -> None:
    cat, dog = [100, 100, 200, 200], [300, 300, 400, 400]
    got = detection_performance(detected(("cat", "dog"), [
        # Image 0: a cat, detected as a dog (0.9: a dog false positive) and as a cat (0.8).
        ([cat], [0], [cat, cat], [1, 0], [0.9, 0.8]),
        # Image 1: a dog, detected at 0.7.
        ([dog], [1], [dog], [1], [0.7]),
    ]))
    # dog ranked: 0.9 false, 0.7 true: precision 1/2 at recall 1, so 1/2 at all 101 recall points.
    assert got["tagPerformance"]["dog"]["averagePrecision50"] == pytest.approx(0.5)
    assert got["tagPerformance"]["cat"]["averagePrecision50"] == pytest.approx(1.0)
    assert got["meanAveragePrecision50"] == pytest.approx(0.75)
    assert got["tagPerformance"]["dog"]["recall50"] == 1.0  # the false positive costs precision, not recall


def test_precision_is_read_at_101_recall_points() -> None:
    boxes = [far_box(i) for i in range(4)]
    got = detection_performance(detected(("cat",), [
        # Three cats; ranked: true 0.9, false 0.8 (box 3 holds no cat), true 0.7, true 0.6.
        (boxes[:3], [0, 0, 0], [boxes[0], boxes[3], boxes[1], boxes[2]], [0, 0, 0, 0], [0.9, 0.8, 0.7, 0.6]),
    ]))
    # (recall, precision): (1/3, 1), (1/3, 1/2), (2/3, 2/3), (1, 3/4); made non-increasing from the right: 1 up to
    # recall 1/3, 3/4 beyond. Recall points 0 .. 0.33 are 34 of the 101: AP = (34 x 1 + 67 x 3/4) / 101, not the
    # 1/3 x 1 + 2/3 x 3/4 = 0.8333 of the area under the curve.
    assert got["meanAveragePrecision50"] == pytest.approx((34 + 67 * 0.75) / 101)
    assert got["meanAveragePrecision50"] != pytest.approx(1 / 3 + 2 / 3 * 0.75)


def test_a_negative_image_counts_its_detections_as_false_positives() -> None:
    cat = [100, 100, 200, 200]
    alone = ([cat], [0], [cat], [0], [0.6])
    assert detection_performance(detected(("cat",), [alone]))["meanAveragePrecision50"] == pytest.approx(1.0)
    # An image without true boxes, with a cat detected at 0.9: ranked above the true one, precision 1/2 at recall 1.
    negative = (NOTHING, [], [cat], [0], [0.9])
    assert detection_performance(detected(("cat",), [alone, negative]))["meanAveragePrecision50"] == pytest.approx(0.5)
    # The same false positive ranked below the true one costs nothing: precision is 1 until recall is complete.
    unsure = (NOTHING, [], [cat], [0], [0.5])
    assert detection_performance(detected(("cat",), [alone, unsure]))["meanAveragePrecision50"] == pytest.approx(1.0)


def test_a_class_without_true_boxes_has_null_figures_and_no_part_in_the_mean() -> None:
    cat = [100, 100, 200, 200]
    got = detection_performance(detected(("cat", "dog"), [([cat], [0], [cat, far_box(0)], [0, 1], [0.8, 0.9])]))
    assert got["tagPerformance"]["dog"] == {
        "averagePrecision50": None, "averagePrecision30": None, "averagePrecision75": None, "recall50": None,
        "count": 0,
    }
    assert got["meanAveragePrecision50"] == pytest.approx(1.0)  # the cat's alone, not (1 + 0) / 2
    json.dumps(got, allow_nan=False)


def test_no_detections_at_all_score_zero() -> None:
    got = detection_performance(detected(("cat", "dog"), [([[0, 0, 10, 10], far_box(0)], [0, 0], NOTHING, [], []),
                                                          (NOTHING, [], NOTHING, [], [])]))
    assert (got["meanAveragePrecision30"], got["meanAveragePrecision50"], got["meanAveragePrecision75"]) == (0, 0, 0)
    assert got["tagPerformance"]["cat"] == {
        "averagePrecision50": 0.0, "averagePrecision30": 0.0, "averagePrecision75": 0.0, "recall50": 0.0, "count": 2,
    }
    assert got["tagPerformance"]["dog"]["averagePrecision50"] is None


def test_without_true_boxes_anywhere_the_means_are_null() -> None:
    got = detection_performance(detected(("cat",), [(NOTHING, [], [far_box(0)], [0], [0.9])]))
    assert got["meanAveragePrecision50"] is None and got["tagPerformance"]["cat"]["count"] == 0
    json.dumps(got, allow_nan=False)


def test_recall_is_the_share_of_true_boxes_found() -> None:
    cat = [100, 100, 200, 200]
    got = detection_performance(detected(("cat",), [([cat, far_box(0)], [0, 0], [cat], [0], [0.9])]))
    # Precision 1 up to recall 1/2, then 0 (never reached): 51 of the 101 recall points.
    assert got["tagPerformance"]["cat"]["recall50"] == 0.5
    assert got["meanAveragePrecision50"] == pytest.approx(51 / 101)


@pytest.mark.parametrize("false_positives, average_precision", [(99, 0.01), (100, 0.0)])
def test_only_the_100_most_confident_detections_of_an_image_count(false_positives: int,
                                                                  average_precision: float) -> None:
    cat = [0, 0, 10, 10]
    boxes = [far_box(i % 5) for i in range(false_positives)] + [cat]
    scores = [0.9] * false_positives + [0.1]
    got = detection_performance(detected(("cat",), [([cat], [0], boxes, [0] * len(boxes), scores)]))
    # 99 false positives: the cat is the 100th: precision 1/100 at recall 1. 100: the cat is the 101st, not counted.
    assert got["meanAveragePrecision50"] == pytest.approx(average_precision)
    assert got["tagPerformance"]["cat"]["recall50"] == (1.0 if average_precision else 0.0)
