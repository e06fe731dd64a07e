"""The numbers of a report, checked against values worked out by hand on the tiny sets of builders.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tailor.reports import Predictions, most_confidently_wrong, write_report
from tests.reports.builders import ANIMALS, TAGS, animals, landscape, random_multiclass, random_multilabel


def report_of(predictions: Predictions, folder: Path, performance: dict | None = None) -> dict:
    return write_report(folder, predictions, title="test", performance=performance or {})


@pytest.fixture(scope="module")
def animals_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return report_of(animals(), tmp_path_factory.mktemp("animals") / "report")


@pytest.fixture(scope="module")
def landscape_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return report_of(landscape(), tmp_path_factory.mktemp("landscape") / "report")


def by_class(report: dict) -> dict[str, dict]:
    return {row["className"]: row for row in report["perClass"]}


# Multiclass.

def test_the_confusion_matrix_counts_true_classes_in_rows(animals_report: dict) -> None:
    assert animals_report["confusionMatrix"] == [
        [1, 1, 0],  # cat: row 0 right, row 1 taken for a dog
        [1, 1, 1],  # dog: row 3 taken for a cat, row 2 right, row 5 taken for a fox
        [0, 0, 1],  # fox: row 4 right
    ]


def test_precision_recall_f1_and_support_per_class(animals_report: dict) -> None:
    rows = by_class(animals_report)
    assert [rows[name]["support"] for name in ANIMALS] == [2, 3, 1]
    # cat: predicted for rows 0 and 3, right once; 1 of its 2 images found.
    assert (rows["cat"]["precision"], rows["cat"]["recall"], rows["cat"]["f1"]) == pytest.approx((0.5, 0.5, 0.5))
    # dog: predicted for rows 1 and 2, right once; 1 of 3 found; F1 = 2 * 1/2 * 1/3 / (1/2 + 1/3) = 0.4.
    assert (rows["dog"]["precision"], rows["dog"]["recall"], rows["dog"]["f1"]) == pytest.approx((0.5, 1 / 3, 0.4))
    # fox: predicted for rows 4 and 5, right once; its 1 image found; F1 = 2 * 1/2 * 1 / (3/2) = 2/3.
    assert (rows["fox"]["precision"], rows["fox"]["recall"], rows["fox"]["f1"]) == pytest.approx((0.5, 1.0, 2 / 3))


def test_average_precision_and_roc_auc_rank_by_the_class_score(animals_report: dict) -> None:
    rows = by_class(animals_report)
    # cat scores ranked: 0.70 (cat), 0.50, 0.18 (cat): precision 1 at recall 1/2, 2/3 at recall 1.
    assert rows["cat"]["averagePrecision"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    # fox: a dog (0.90) outranks the one fox (0.75): precision 1/2 at recall 1; the fox beats 4 of 5 others.
    assert rows["fox"]["averagePrecision"] == pytest.approx(0.5)
    assert rows["fox"]["rocAuc"] == pytest.approx(0.8)


def test_reliability_bins_count_the_top1_confidence_and_its_accuracy(animals_report: dict) -> None:
    bins = animals_report["reliability"]
    assert len(bins) == 15
    assert bins[0]["lower"] == 0.0 and bins[-1]["upper"] == 1.0
    filled = {i: (b["count"], b["accuracy"], b["meanConfidence"]) for i, b in enumerate(bins) if b["count"]}
    assert filled == {
        7: (1, 0.0, pytest.approx(0.50)),  # row 3, wrong
        9: (1, 0.0, pytest.approx(0.62)),  # row 1, wrong
        10: (1, 1.0, pytest.approx(0.70)),  # row 0, right
        11: (2, 1.0, pytest.approx(0.75)),  # rows 2 and 4, right
        13: (1, 0.0, pytest.approx(0.90)),  # row 5, wrong
    }
    assert all(b["accuracy"] is None and b["meanConfidence"] is None for b in bins if not b["count"])


def test_reliability_bins_hold_their_lower_edge_and_the_last_holds_one(tmp_path: Path) -> None:
    edge = np.linspace(0.0, 1.0, 16)[9]  # 0.6, as the bins compute it
    scores = np.array([[edge, 1.0 - edge], [1.0, 0.0]])
    predictions = Predictions(("a", "b"), False, scores, np.array([0, 0]), ("x", "y"))
    bins = report_of(predictions, tmp_path / "report")["reliability"]
    assert bins[9]["lower"] == edge and bins[9]["count"] == 1 and bins[8]["count"] == 0
    assert bins[14]["count"] == 1


@pytest.mark.slow
def test_reliability_bins_average_to_the_calibration_error_automl_reports(tmp_path: Path) -> None:
    from tailor.automl.metrics import classification_performance

    for predictions in (animals(), random_multiclass(7, 300), random_multilabel(4, 200)):
        performance = classification_performance(
            predictions.scores, predictions.targets, predictions.class_names, multilabel=predictions.multilabel
        )
        bins = report_of(predictions, tmp_path / "report", performance)["reliability"]
        pairs = predictions.scores.size if predictions.multilabel else predictions.count
        gaps = sum(b["count"] * abs(b["accuracy"] - b["meanConfidence"]) for b in bins if b["count"]) / pairs
        assert gaps == pytest.approx(performance["calibrationECE"], abs=1e-5)
    assert gaps > 0.01  # the sets are not perfectly calibrated: the comparison compared something


def test_the_most_confidently_wrong_come_worst_first() -> None:
    assert most_confidently_wrong(animals()) == [5, 1, 3]  # wrong with 0.90, 0.62, 0.50
    assert most_confidently_wrong(animals(), k=2) == [5, 1]
    assert most_confidently_wrong(animals(), k=0) == []


def test_equally_confident_mistakes_keep_the_order_of_the_rows() -> None:
    scores = np.array([[0.2, 0.8], [0.8, 0.2], [0.3, 0.7], [0.2, 0.8]])
    predictions = Predictions(("a", "b"), False, scores, np.array([1, 1, 0, 0]), ("w", "x", "y", "z"))
    assert most_confidently_wrong(predictions) == [1, 3, 2]


def test_the_mistakes_table_names_the_labels(animals_report: dict) -> None:
    first = animals_report["mostConfidentlyWrong"][0]
    assert first == {
        "row": 5,
        "image": "https://example.test/images/5.jpg",
        "trueLabels": ["dog"],
        "predictedLabels": ["fox"],
        "misjudgedLabel": "fox",
        "confidence": pytest.approx(0.90),
        "thumbnail": None,
    }
    assert [row["row"] for row in animals_report["mostConfidentlyWrong"]] == [5, 1, 3]


def test_the_summary_and_counts_are_carried(animals_report: dict) -> None:
    assert animals_report["classNames"] == list(ANIMALS)
    assert animals_report["imageCount"] == 6
    assert animals_report["multilabel"] is False and animals_report["thresholds"] is None


# Multilabel.

def test_each_tag_has_a_two_by_two_matrix_at_its_threshold(landscape_report: dict) -> None:
    assert landscape_report["confusionMatrix"] == [
        [[2, 1], [1, 1]],  # sky: tn rows 1 4, fp row 2, fn row 3, tp row 0
        [[1, 1], [1, 2]],  # tree (0.3): tn row 2, fp row 1 (0.35), fn row 3, tp rows 0 4
        [[1, 1], [2, 1]],  # water (0.7): tn row 0 (0.60), fp row 2, fn rows 3 4 (0.62), tp row 1
    ]
    assert landscape_report["thresholds"] == [0.5, 0.3, 0.7]


def test_precision_recall_and_f1_at_the_thresholds(landscape_report: dict) -> None:
    rows = by_class(landscape_report)
    assert [rows[tag]["support"] for tag in TAGS] == [2, 3, 3]
    assert (rows["sky"]["precision"], rows["sky"]["recall"], rows["sky"]["f1"]) == pytest.approx((0.5, 0.5, 0.5))
    assert (rows["tree"]["precision"], rows["tree"]["recall"], rows["tree"]["f1"]) == pytest.approx((2 / 3,) * 3)
    assert (rows["water"]["precision"], rows["water"]["recall"], rows["water"]["f1"]) == pytest.approx(
        (0.5, 1 / 3, 0.4)
    )
    # sky scores ranked: 0.90 (sky), 0.60, 0.45 (sky): precision 1 at recall 1/2, 2/3 at recall 1.
    assert rows["sky"]["averagePrecision"] == pytest.approx(5 / 6)


def test_without_thresholds_every_tag_is_decided_at_one_half(tmp_path: Path) -> None:
    report = report_of(landscape(thresholds=None), tmp_path / "report")
    assert report["thresholds"] == [0.5, 0.5, 0.5]
    assert report["confusionMatrix"][1] == [[2, 0], [2, 1]]  # tree's 0.40 and 0.35 are no longer positive


def test_a_score_equal_to_the_threshold_is_a_positive() -> None:
    predictions = Predictions(("a", "b"), True, np.array([[0.3, 0.0]]), np.array([[0, 0]]), ("x",), (0.3, 0.5))
    assert most_confidently_wrong(predictions) == [0]


def test_multilabel_mistakes_rank_by_the_distance_past_the_threshold(landscape_report: dict) -> None:
    assert most_confidently_wrong(landscape()) == [3, 2, 4, 1]  # 0.40, 0.10, 0.08, 0.05 past
    worst = landscape_report["mostConfidentlyWrong"][0]
    assert worst["trueLabels"] == ["sky", "tree", "water"] and worst["predictedLabels"] == []
    assert worst["misjudgedLabel"] == "water" and worst["confidence"] == pytest.approx(0.30)


def test_multilabel_reliability_counts_every_image_and_tag(landscape_report: dict) -> None:
    bins = landscape_report["reliability"]
    assert sum(b["count"] for b in bins) == 15
    assert (bins[13]["count"], bins[13]["accuracy"]) == (2, 1.0)  # sky of row 0, tree of row 4: both 0.90, both true


# Undefined values, curves and JSON.

def test_a_class_absent_from_the_targets_is_null_not_nan(tmp_path: Path) -> None:
    scores = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.5, 0.2, 0.3], [0.1, 0.8, 0.1]])
    predictions = Predictions(("cat", "dog", "wolf"), False, scores, np.array([0, 1, 0, 1]), ("a", "b", "c", "d"))
    report = report_of(predictions, tmp_path / "report", {"averagePrecision": float("nan"), "tagPerformance": {
        "wolf": {"accuracy": float("nan")}}})
    wolf = by_class(report)["wolf"]
    assert wolf["support"] == 0 and wolf["averagePrecision"] is None and wolf["rocAuc"] is None
    assert wolf["precision"] == 0.0 and wolf["recall"] == 0.0  # zero_division=0, no warning
    assert report["curves"][2] == {"className": "wolf", "precisionRecall": None, "roc": None}
    assert report["performance"] == {"averagePrecision": None, "tagPerformance": {"wolf": {"accuracy": None}}}
    json.dumps(report, allow_nan=False)
    assert json.loads((tmp_path / "report" / "report.json").read_text()) == report


def test_a_tag_on_every_image_has_precision_recall_but_no_roc(tmp_path: Path) -> None:
    predictions = Predictions(("a", "b"), True, np.array([[0.9, 0.2], [0.6, 0.7]]), np.array([[1, 0], [1, 1]]),
                              ("x", "y"))
    report = report_of(predictions, tmp_path / "report")
    assert report["perClass"][0]["averagePrecision"] == 1.0 and report["perClass"][0]["rocAuc"] is None
    assert report["curves"][0]["precisionRecall"] is not None and report["curves"][0]["roc"] is None
    json.dumps(report, allow_nan=False)


def test_curves_are_thinned_to_200_points_keeping_their_ends(tmp_path: Path) -> None:
    report = report_of(random_multiclass(3, 1500), tmp_path / "report")
    for entry in report["curves"]:
        pr, roc = entry["precisionRecall"], entry["roc"]
        assert 100 < len(pr["recall"]) == len(pr["precision"]) <= 200
        assert (pr["recall"][-1], pr["precision"][-1]) == (0.0, 1.0)  # scikit-learn's last point
        assert len(roc["falsePositiveRate"]) == len(roc["truePositiveRate"]) <= 200
        assert (roc["falsePositiveRate"][0], roc["truePositiveRate"][0]) == (0.0, 0.0)
        assert (roc["falsePositiveRate"][-1], roc["truePositiveRate"][-1]) == (1.0, 1.0)
        assert all(a <= b for a, b in zip(roc["falsePositiveRate"], roc["falsePositiveRate"][1:]))
