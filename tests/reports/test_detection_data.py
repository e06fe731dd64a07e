"""The numbers of a detector's report, checked against values worked out by hand on the street set of builders.py,
and against modelPerformance's figures, which come from the same COCOeval run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tailor.automl.detection_metrics import detection_performance
from tailor.reports import DetectionPredictions, worst_detected, write_report
from tests.reports.builders import STREET, random_detections, street


@pytest.fixture(scope="module")
def street_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    predictions = street()
    return write_report(tmp_path_factory.mktemp("street") / "report", predictions, title="street",
                        performance=detection_performance(predictions))


def by_class(report: dict) -> dict[str, dict]:
    return {row["className"]: row for row in report["perClass"]}


def test_the_report_says_what_it_is(street_report: dict) -> None:
    assert street_report["kind"] == "detector"
    assert street_report["classNames"] == list(STREET)
    assert (street_report["imageCount"], street_report["trueBoxCount"], street_report["detectionCount"]) == (4, 4, 7)
    assert (street_report["iouThreshold"], street_report["shownConfidence"]) == (0.5, 0.3)


def test_per_class_average_precision_and_recall(street_report: dict) -> None:
    rows = by_class(street_report)
    # car, ranked: 0.95 false, 0.90 A, 0.25 B, 0.10 false: precision 2/3 at recall 1, so 2/3 at every recall point;
    # the same at every IoU, A and B being found exactly.
    assert (rows["car"]["trueBoxes"], rows["car"]["detections"]) == (2, 4)
    for key in ("averagePrecision30", "averagePrecision50", "averagePrecision75"):
        assert rows["car"][key] == pytest.approx(2 / 3)
    assert rows["car"]["recall50"] == 1.0
    # person, ranked: 0.80 P (IoU 0.6), 0.50 false; Q never found: precision 1 up to recall 1/2 (51 of the 101 recall
    # points), 0 beyond. At IoU 0.75 the 0.6 box is false too: 0.
    assert (rows["person"]["trueBoxes"], rows["person"]["detections"]) == (2, 2)
    assert rows["person"]["averagePrecision30"] == pytest.approx(51 / 101)
    assert rows["person"]["averagePrecision50"] == pytest.approx(51 / 101)
    assert rows["person"]["averagePrecision75"] == 0.0
    assert rows["person"]["recall50"] == 0.5
    assert rows["bike"] == {"className": "bike", "trueBoxes": 0, "detections": 1, "averagePrecision30": None,
                            "averagePrecision50": None, "averagePrecision75": None, "recall50": None}


def test_the_table_agrees_with_model_performance(street_report: dict) -> None:
    tags = street_report["performance"]["tagPerformance"]
    for row in street_report["perClass"]:
        tag = tags[row["className"]]
        assert row["trueBoxes"] == tag["count"]
        for key in ("averagePrecision30", "averagePrecision50", "averagePrecision75", "recall50"):
            assert row[key] == tag[key]
    assert street_report["performance"]["meanAveragePrecision50"] == pytest.approx((2 / 3 + 51 / 101) / 2)


def test_precision_recall_curves_are_cocoeval_s_101_points(street_report: dict) -> None:
    curves = {entry["className"]: entry["precisionRecall"] for entry in street_report["curves"]}
    assert curves["car"]["recall"] == pytest.approx([r / 100 for r in range(101)])
    assert curves["car"]["precision"] == pytest.approx([2 / 3] * 101, abs=1e-5)
    assert curves["person"]["precision"] == [1.0] * 51 + [0.0] * 50  # 0 past the highest recall reached, 1/2
    assert curves["bike"] is None
    # The mean of a curve is its class's AP, as modelPerformance reports it.
    for row in street_report["perClass"]:
        if row["trueBoxes"]:
            assert np.mean(curves[row["className"]]["precision"]) == pytest.approx(row["averagePrecision50"], abs=1e-5)


def test_the_confidence_sweep_pools_the_classes(street_report: dict) -> None:
    sweep = street_report["confidenceSweep"]
    assert sweep["confidence"] == [c / 100 for c in range(101)] and sweep["confidence"][30] == 0.3
    at = {c: (n, p, r) for c, n, p, r in zip(sweep["confidence"], sweep["detections"], sweep["precision"],
                                             sweep["recall"])}
    # Of the 4 true boxes, A, P and B are found at IoU 0.5 (B at 0.25); 7 detections, 4 false.
    assert at[0.0] == (7, pytest.approx(3 / 7, abs=1e-5), 0.75)
    assert at[0.25] == (6, 0.5, 0.75)  # a score equal to the floor is kept; the 0.10 car is not
    assert at[0.3] == (5, 0.4, 0.5)  # 0.95 0.90 0.80 0.50 0.40: A and P
    assert at[0.85] == (2, 0.5, 0.25)  # 0.95 false, 0.90 A
    assert at[0.96] == (0, None, 0.0)  # no detection left: precision undefined
    assert at[1.0] == (0, None, 0.0)


def test_without_true_boxes_recall_is_undefined(tmp_path: Path) -> None:
    predictions = DetectionPredictions(("car",), ("a",), ((100, 100),), ([],), ([],), ([[0, 0, 10, 10]],), ([0],),
                                       ([0.7],))
    report = write_report(tmp_path / "report", predictions, title="empty", performance={})
    assert set(report["confidenceSweep"]["recall"]) == {None}
    assert report["confidenceSweep"]["precision"][70] == 0.0 and report["confidenceSweep"]["precision"][71] is None
    assert report["curves"] == [{"className": "car", "precisionRecall": None}]
    assert [row["imageIndex"] for row in report["worst"]] == [0]


def test_the_worst_images_are_the_missed_boxes_plus_the_confident_false_positives() -> None:
    # 1: B missed (its detection scores 0.25, under 0.3) + car 0.95 false = 1.95; 3: Q missed = 1; 2: person 0.50
    # false (the 0.10 car is not shown) = 0.5; 0: bike 0.40 false = 0.4.
    assert worst_detected(street()) == [1, 3, 2, 0]
    assert worst_detected(street(), k=2) == [1, 3]
    assert worst_detected(street(), k=0) == []
    with pytest.raises(ValueError, match="k must be 0 or more"):
        worst_detected(street(), k=-1)


def test_the_worst_table_names_the_missed_and_the_false(street_report: dict) -> None:
    rows = street_report["worst"]
    assert [row["imageIndex"] for row in rows] == [1, 3, 2, 0]
    assert rows[0] == {
        "imageIndex": 1, "image": "https://example.test/images/1.jpg", "trueBoxes": 1, "missed": ["car"],
        "falsePositives": [{"className": "car", "confidence": 0.95}], "severity": pytest.approx(1.95),
        "thumbnail": None,
    }
    assert rows[1]["missed"] == ["person"] and rows[1]["falsePositives"] == []
    assert rows[3]["missed"] == [] and rows[3]["falsePositives"] == [{"className": "bike", "confidence": 0.4}]


def test_false_positives_come_most_confident_first_and_equal_images_keep_their_order(tmp_path: Path) -> None:
    far = [[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]]
    predictions = DetectionPredictions(
        ("car",), ("a", "b", "c"), ((100, 100),) * 3, ([], [], []), ([], [], []), (far, far[:1], far[:1]),
        ([0, 0, 0], [0], [0]), ([0.4, 0.9, 0.6], [0.5], [0.5]),
    )
    assert worst_detected(predictions) == [0, 1, 2]
    rows = write_report(tmp_path / "report", predictions, title="t", performance={})["worst"]
    assert [box["confidence"] for box in rows[0]["falsePositives"]] == [0.9, 0.6, 0.4]


def test_a_single_class_detector_has_its_report(tmp_path: Path) -> None:
    predictions = random_detections(1, 40, seed=3)
    report = write_report(tmp_path / "report", predictions, title="one class",
                          performance=detection_performance(predictions))
    assert report["classNames"] == ["class 0"] and len(report["perClass"]) == 1
    row = report["perClass"][0]
    assert row["trueBoxes"] == int(sum(len(boxes) for boxes in predictions.true_boxes)) > 0
    assert 0.3 < row["averagePrecision50"] < 1.0  # most boxes found, some not, some false: neither extreme
    assert row["averagePrecision75"] < row["averagePrecision50"] <= row["averagePrecision30"]
    assert report["performance"]["meanAveragePrecision50"] == pytest.approx(row["averagePrecision50"])
    json.dumps(report, allow_nan=False)


def test_no_detections_at_all_make_a_report(tmp_path: Path) -> None:
    predictions = DetectionPredictions(("car",), ("a",), ((100, 100),), ([[0, 0, 10, 10]],), ([0],), ([],), ([],),
                                       ([],))
    report = write_report(tmp_path / "report", predictions, title="silent",
                          performance=detection_performance(predictions))
    assert report["perClass"][0]["averagePrecision50"] == 0.0 and report["detectionCount"] == 0
    assert report["confidenceSweep"]["recall"] == [0.0] * 101
    assert report["confidenceSweep"]["precision"] == [None] * 101
    assert report["worst"][0]["missed"] == ["car"]
