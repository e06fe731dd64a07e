"""COCOeval's matches, as DetectionPredictions.evaluation keeps them: per image, as indices into that image's own
boxes, so that the report can name the missed boxes and the false positives."""

from __future__ import annotations

import contextlib
import io
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tailor.reports import DetectionPredictions

CAT, DOG, ELSEWHERE = [0, 0, 100, 100], [200, 200, 300, 300], [500, 500, 520, 520]


def two_images() -> DetectionPredictions:
    return DetectionPredictions(
        ("cat", "dog"), ("a", "b"), ((600, 600), (600, 600)),
        true_boxes=([CAT], [DOG, CAT]), true_labels=([0], [1, 0]),
        # Image 0: the cat found (0.8), and a false dog (0.9). Image 1: nothing at 0.2, the dog found at 0.7 by a
        # box of IoU 0.64 (80 x 80 inside 100 x 100), the cat taken for a dog (0.6).
        boxes=([ELSEWHERE, CAT], [ELSEWHERE, [210, 210, 290, 290], CAT]), labels=([1, 0], [0, 1, 1]),
        scores=([0.9, 0.8], [0.2, 0.7, 0.6]),
    )


def test_matches_are_indices_within_each_image() -> None:
    evaluation = two_images().evaluation
    assert evaluation.iou_thresholds.tolist() == [0.3, 0.5, 0.75]
    at_half = evaluation.iou_index(0.5)
    assert [matches[at_half].tolist() for matches in evaluation.detection_matches] == [[-1, 0], [-1, 0, -1]]
    assert [matches[at_half].tolist() for matches in evaluation.true_box_matches] == [[1], [1, -1]]
    at_three_quarters = evaluation.iou_index(0.75)  # the 0.64 box no longer counts
    assert [matches[at_three_quarters].tolist() for matches in evaluation.true_box_matches] == [[1], [-1, -1]]
    assert [evaluated.tolist() for evaluated in evaluation.evaluated] == [[True, True], [True, True, True]]


def test_precision_and_recall_come_per_class() -> None:
    evaluation = two_images().evaluation
    assert evaluation.recall_thresholds.tolist() == pytest.approx(np.linspace(0, 1, 101).tolist())
    assert evaluation.precision.shape == (3, 101, 2) and evaluation.recall.shape == (3, 2)
    # cat ranked: 0.8 true, 0.2 false, and the second cat never found: precision 1 up to recall 1/2 (51 of the 101
    # recall points), 0 beyond. dog ranked: 0.9 false, 0.7 true, 0.6 false: precision 1/2 up to recall 1.
    assert evaluation.average_precision(0.5).tolist() == pytest.approx([51 / 101, 0.5])
    assert evaluation.recall_at(0.5).tolist() == [0.5, 1.0]
    assert evaluation.recall_at(0.75).tolist() == [0.5, 0.0]
    with pytest.raises(ValueError, match="not one of the evaluated thresholds"):
        evaluation.average_precision(0.95)


def test_detections_past_the_100_best_of_an_image_and_class_are_not_evaluated() -> None:
    boxes = [ELSEWHERE] * 101
    predictions = DetectionPredictions(("cat",), ("a",), ((600, 600),), ([CAT],), ([0],), (boxes,), ([0] * 101,),
                                       (np.linspace(1.0, 0.0, 101),))
    assert predictions.evaluation.evaluated[0].tolist() == [True] * 100 + [False]


def test_nothing_is_printed_and_threads_may_evaluate_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    """COCOeval prints; the evaluation swallows it, and two threads doing so at once leave stdout as it was."""
    before = sys.stdout
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: two_images().evaluation.average_precision(0.5).tolist(), range(8)))
    assert results == [pytest.approx([51 / 101, 0.5])] * 8
    assert sys.stdout is before
    print("still heard")
    assert capsys.readouterr().out == "still heard\n"
    with contextlib.redirect_stdout(io.StringIO()) as heard:
        two_images().evaluation
    assert heard.getvalue() == ""
