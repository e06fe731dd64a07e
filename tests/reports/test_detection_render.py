"""A detector's report on disk: the files it lists, the images decoding, one self-contained page that says what the
numbers are, user data escaped, and the folder replaced whole."""

from __future__ import annotations

import base64
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from tailor.automl.detection_metrics import detection_performance
from tailor.reports import DetectionPredictions, read_report, render_html, worst_detected, write_report
from tests.reports.builders import animals, random_detections, street
from tests.reports.test_render import HOSTILE, Page


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("written") / "report"
    predictions = street()
    thumbnails = {image: Image.new("RGB", (320, 240), "teal") for image in worst_detected(predictions)}
    report = write_report(folder, predictions, title="street-v1 on street-test",
                          performance=detection_performance(predictions),
                          details={"model": "street-v1", "dataset": "street-test"}, thumbnails=thumbnails)
    return folder, report


def test_every_file_is_listed_and_every_listed_file_written(written: tuple[Path, dict]) -> None:
    folder, report = written
    assert {path.name for path in folder.iterdir()} == set(report["files"]) | {"report.json", "report.html"}
    assert report["files"] == ["precision-recall.png", "confidence.png", "thumbnail-1.jpg", "thumbnail-3.jpg",
                               "thumbnail-2.jpg", "thumbnail-0.jpg"]  # two plots, the worst images worst first
    assert [plot["file"] for plot in report["plots"]] == report["files"][:2]
    assert [row["thumbnail"] for row in report["worst"]] == report["files"][2:]
    for name in report["files"]:
        with Image.open(folder / name) as image:
            image.load()
            assert image.format == ("PNG" if name.endswith(".png") else "JPEG")


def test_the_page_is_self_contained(written: tuple[Path, dict]) -> None:
    folder, report = written
    page = (folder / "report.html").read_text()
    for name in report["files"]:
        media_type = "image/png" if name.endswith(".png") else "image/jpeg"
        assert f"data:{media_type};base64,{base64.b64encode((folder / name).read_bytes()).decode()}" in page
    references = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", page)
    assert len(references) == len(report["files"])
    assert "<script" not in page and "url(" not in page


def test_the_page_shows_the_figures_the_classes_and_the_worst_images(written: tuple[Path, dict]) -> None:
    folder, report = written
    text = Page.parse((folder / "report.html").read_text()).text
    assert f"{report['performance']['meanAveragePrecision50']:.3f}" == "0.586"  # (2/3 + 51/101) / 2
    for expected in ("Mean average precision at IoU 0.5", "Mean average precision at IoU 0.75", "street-test",
                     "True boxes", "car", "person", "bike", "AP at IoU 0.75", "Recall at IoU 0.5",
                     "Worst detected images", "/images/3.jpg", "car 0.95", "bike 0.40", "0.505", "0.586"):
        assert expected in text
    assert "multiclass" not in text and "Most confidently wrong" not in text


def test_read_report_gives_back_what_write_report_returned(written: tuple[Path, dict]) -> None:
    folder, report = written
    assert read_report(folder) == report
    assert json.loads((folder / "report.json").read_text()) == report
    assert render_html(read_report(folder), folder) == (folder / "report.html").read_text()


def test_hostile_names_are_text_everywhere(tmp_path: Path) -> None:
    predictions = random_detections(len(HOSTILE), 40, names=HOSTILE)
    rows = worst_detected(predictions)
    report = write_report(
        tmp_path / "report", predictions, title="<img src=x onerror=alert(2)>", performance={"<b>bold</b>": 1.0},
        details={"<i>key</i>": "<a href='javascript:alert(3)'>value</a>"},
        thumbnails={row: Image.new("RGB", (64, 48), "red") for row in rows},
    )
    page = Page.parse((tmp_path / "report" / "report.html").read_text())
    assert page.tags <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "span", "table", "tr",
                         "th", "td", "figure", "img"}
    assert page.image_sources == len(report["files"]) == 2 + len(rows)
    for name in HOSTILE + ("<img src=x onerror=alert(2)>", "<b>bold</b>", "<i>key</i>"):
        assert name in page.text
    for plot in report["plots"]:  # the dollar signs did not trip matplotlib's mathtext
        with Image.open(tmp_path / "report" / plot["file"]) as image:
            image.load()


def test_long_lists_of_missed_boxes_are_cut_short_on_the_page(tmp_path: Path) -> None:
    boxes = [[10.0 * i, 0.0, 10.0 * i + 5, 5.0] for i in range(14)]
    predictions = DetectionPredictions(("car",), ("a",), ((200, 10),), (boxes,), ([0] * 14,), ([],), ([],), ([],))
    report = write_report(tmp_path / "report", predictions, title="t", performance={})
    assert report["worst"][0]["missed"] == ["car"] * 14  # all in the JSON
    text = Page.parse((tmp_path / "report" / "report.html").read_text()).text
    assert "14: " + ", ".join(["car"] * 10) + " and 4 more" in text


def test_a_classifier_report_says_so_and_an_old_one_still_renders(tmp_path: Path) -> None:
    report = write_report(tmp_path / "report", animals(), title="animals", performance={})
    assert report["kind"] == "classifier"
    old = {key: value for key, value in report.items() if key != "kind"}  # written before reports had a kind
    assert render_html(old, tmp_path / "report") == (tmp_path / "report" / "report.html").read_text()


def test_a_detector_report_replaces_a_classifier_report_whole(tmp_path: Path) -> None:
    folder = tmp_path / "report"
    write_report(folder, animals(), title="first", performance={})
    second = write_report(folder, street(), title="second", performance={})
    assert read_report(folder)["kind"] == "detector"
    assert {path.name for path in folder.iterdir()} == set(second["files"]) | {"report.json", "report.html"}


def test_only_predictions_make_a_report(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="Predictions or DetectionPredictions, not dict"):
        write_report(tmp_path / "report", {"boxes": []}, title="t", performance={})
    assert not (tmp_path / "report").exists()


@pytest.mark.slow
def test_detector_reports_written_in_threads_at_once_are_those_written_alone(tmp_path: Path) -> None:
    """COCOeval's quieted stdout, the plots and the fonts of the labels: nothing may leak between threads."""
    sets = {name: random_detections(4, 80, seed=seed) for seed, name in enumerate(["first", "second", "third"])}
    pictures = {name: {image: Image.new("RGB", (320, 240), "teal") for image in worst_detected(predictions)}
                for name, predictions in sets.items()}
    for name, predictions in sets.items():
        write_report(tmp_path / f"{name}-alone", predictions, title=name, performance={}, thumbnails=pictures[name])
    fresh = {name: random_detections(4, 80, seed=seed) for seed, name in enumerate(sets)}  # evaluated afresh
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(write_report, tmp_path / f"{name}-together", predictions, title=name, performance={},
                               thumbnails=pictures[name]) for name, predictions in fresh.items()]
        for future in futures:
            future.result()
    for name in sets:
        alone = {path.name: path.read_bytes() for path in (tmp_path / f"{name}-alone").iterdir()}
        assert {path.name: path.read_bytes() for path in (tmp_path / f"{name}-together").iterdir()} == alone
        assert any(file.startswith("thumbnail-") for file in alone)
