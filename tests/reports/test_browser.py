"""The written report.html as a person sees it, in headless Chromium: it loads clean, every image shows, and the
class names are text."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from tailor.automl.detection_metrics import detection_performance
from tailor.reports import most_confidently_wrong, worst_detected, write_report
from tests.browser import BrowserPage
from tests.reports.builders import random_detections, random_multiclass, random_multilabel

HOSTILE = ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "$5 bill", "$10 bill", "plain fox")
KEY_HEADER = "Ocp-Apim-Subscription-Key"
KEY = "a-training-key"


@pytest.fixture(scope="module")
def report_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser") / "report"
    predictions = random_multiclass(len(HOSTILE), 80, names=HOSTILE)
    rows = most_confidently_wrong(predictions)
    write_report(
        folder, predictions, title="<script>alert('title')</script>", performance={"accuracyTop1": 0.5},
        details={"model": "<b>m</b>"}, thumbnails={row: Image.new("RGB", (320, 240), "teal") for row in rows},
    )
    return folder


class _KeyedHandler(SimpleHTTPRequestHandler):
    """Serves the folder only to requests that carry the key, as the API serves reports."""

    def do_GET(self) -> None:
        if self.headers.get(KEY_HEADER) != KEY:
            self.send_error(401, "missing or wrong subscription key")
            return
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def keyed_server(report_folder: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_KeyedHandler, directory=str(report_folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/report.html"
    finally:
        server.shutdown()
        server.server_close()


def test_the_report_opens_clean_with_every_image_shown(browser_page: BrowserPage, report_folder: Path) -> None:
    check = browser_page.open((report_folder / "report.html").as_uri())
    assert check.problems == []
    assert check.image_count == 5 + 12  # the plots, and a thumbnail per row of the mistakes table
    for name in HOSTILE + ("<script>alert('title')</script>", "<b>m</b>"):
        assert name in check.text


def test_a_multilabel_report_opens_clean(browser_page: BrowserPage, tmp_path: Path) -> None:
    write_report(tmp_path / "tags", random_multilabel(6, 120), title="tags", performance={})
    check = browser_page.open((tmp_path / "tags" / "report.html").as_uri())
    assert check.problems == [] and check.image_count == 5
    assert "tag 5" in check.text and "Threshold" in check.text


def test_a_detector_report_opens_clean_with_every_image_shown(browser_page: BrowserPage, tmp_path: Path) -> None:
    predictions = random_detections(len(HOSTILE), 60, names=HOSTILE)
    worst = worst_detected(predictions)
    write_report(
        tmp_path / "boxes", predictions, title="<script>alert('boxes')</script>",
        performance=detection_performance(predictions),
        thumbnails={image: Image.new("RGB", (320, 240), "teal") for image in worst},
    )
    check = browser_page.open((tmp_path / "boxes" / "report.html").as_uri())
    assert check.problems == []
    assert len(worst) == 12 and check.image_count == 2 + 12  # the plots, and each worst image with its boxes
    for text in HOSTILE + ("<script>alert('boxes')</script>", "Mean average precision at IoU 0.5",
                           "Worst detected images"):
        assert text in check.text


def test_extra_headers_reach_the_server(browser_page: BrowserPage, keyed_server: str) -> None:
    check = browser_page.open(keyed_server, headers={KEY_HEADER: KEY})
    assert check.status == 200 and check.problems == []
    assert "plain fox" in check.text
    refused = browser_page.open(keyed_server)
    assert refused.status == 401 and "plain fox" not in refused.text


def test_the_check_sees_what_a_person_would_see_broken(browser_page: BrowserPage, tmp_path: Path) -> None:
    """Without this, a clean check could mean a blind one."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!doctype html><title>broken</title><p>still here</p><img src='missing.png' alt='gone'>"
        "<script>console.error('logged'); throw new Error('thrown');</script>"
    )
    check = browser_page.open(page.as_uri())
    assert check.broken_images == [(tmp_path / "missing.png").as_uri()]
    assert "logged" in check.console_errors
    assert any("thrown" in error for error in check.page_errors)
    assert check.failed_requests and check.text.strip() == "still here"
