"""The public surface of tailor.reports is what its __init__ exports; the evaluation jobs code against it."""

from __future__ import annotations

from tailor import reports

EXPECTED = {
    "DetectionPredictions", "Predictions", "evaluate_detections", "load_predictions", "most_confidently_wrong",
    "parse_predictions", "read_report", "render_html", "save_predictions", "worst_detected", "write_report",
}


def test_exported_members() -> None:
    assert set(reports.__all__) == EXPECTED
    for name in reports.__all__:
        assert getattr(reports, name) is not None


def test_public_names_not_exported_are_private() -> None:
    public = {name for name in dir(reports) if not name.startswith("_")}
    assert public - EXPECTED == set()
