"""A report on disk: the files it lists, the images decoding, one self-contained page, user data escaped, and a
folder that is replaced whole or not at all."""

from __future__ import annotations

import base64
import json
import re
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from tailor.reports import most_confidently_wrong, read_report, render_html, write_report
from tests.reports.builders import animals, landscape, random_multiclass, random_multilabel

HOSTILE = ("<script>alert(1)</script>", "\"quoted\" & 'apostrophe'", "$5 bill", "$10 bill", "snow\\$flake")
PERFORMANCE = {"accuracyTop1": 0.5, "accuracyTop5": 1.0, "averagePrecision": 0.75, "calibrationECE": 0.47}


class Page(HTMLParser):
    """The elements of a page and its text, as a browser's parser reads them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.image_sources = 0
        self.text = ""

    @classmethod
    def parse(cls, markup: str) -> Page:
        page = cls()
        page.feed(markup)
        page.close()
        return page

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.image_sources += tag == "img"

    def handle_data(self, data: str) -> None:
        self.text += data


def pictures(rows: list[int]) -> dict[int, Image.Image]:
    """Real pictures of every mode a dataset has: JPEG cannot hold alpha or a palette, so these must be flattened."""
    modes = ["RGB", "RGBA", "P", "L", "CMYK"]
    return {row: Image.new(modes[i % len(modes)], (640, 200 + 40 * (i % 7)), "red") for i, row in enumerate(rows)}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("written") / "report"
    predictions = animals()
    thumbnails = pictures(most_confidently_wrong(predictions))
    report = write_report(
        folder, predictions, title="fruit-v1 on fruit-test", performance=PERFORMANCE,
        details={"model": "fruit-v1", "dataset": "fruit-test"}, thumbnails=thumbnails,
    )
    return folder, report


def test_every_file_is_listed_and_every_listed_file_written(written: tuple[Path, dict]) -> None:
    folder, report = written
    on_disk = {path.name for path in folder.iterdir()}
    assert on_disk == set(report["files"]) | {"report.json", "report.html"}
    assert len(report["files"]) == len(set(report["files"])) == 5 + 3  # five plots, a thumbnail per mistake
    assert [plot["file"] for plot in report["plots"]] == [name for name in report["files"] if name.endswith(".png")]


def test_every_image_decodes(written: tuple[Path, dict]) -> None:
    folder, report = written
    for name in report["files"]:
        with Image.open(folder / name) as image:
            image.load()
            assert image.format == ("PNG" if name.endswith(".png") else "JPEG")
            if image.format == "JPEG":
                assert image.mode == "RGB" and max(image.size) <= 160
            else:
                assert min(image.size) >= 300  # drawn at a readable size, not a collapsed figure


def test_the_mistakes_table_points_at_the_thumbnails(written: tuple[Path, dict]) -> None:
    _folder, report = written
    thumbnails = [row["thumbnail"] for row in report["mostConfidentlyWrong"]]
    assert thumbnails == ["thumbnail-5.jpg", "thumbnail-1.jpg", "thumbnail-3.jpg"]


def test_only_thumbnails_of_rows_in_the_table_are_written(tmp_path: Path) -> None:
    report = write_report(tmp_path / "report", animals(), title="t", performance={}, thumbnails=pictures([0, 5]))
    assert [name for name in report["files"] if name.endswith(".jpg")] == ["thumbnail-5.jpg"]  # row 0 is right
    assert [row["thumbnail"] for row in report["mostConfidentlyWrong"]] == ["thumbnail-5.jpg", None, None]


def test_the_page_embeds_every_image_and_reaches_for_nothing_outside(written: tuple[Path, dict]) -> None:
    folder, report = written
    page = (folder / "report.html").read_text()
    for name in report["files"]:
        media_type = "image/png" if name.endswith(".png") else "image/jpeg"
        assert f"data:{media_type};base64,{base64.b64encode((folder / name).read_bytes()).decode()}" in page
    references = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", page)
    assert len(references) == len(report["files"])
    assert all(reference.startswith("data:image/") for reference in references)
    assert "<script" not in page and "@import" not in page and "url(" not in page


def test_the_page_shows_the_summary_details_and_classes(written: tuple[Path, dict]) -> None:
    folder, _ = written
    page = (folder / "report.html").read_text()
    for text in ("fruit-v1 on fruit-test", "fruit-test", "50.0%", "0.470", "cat", "dog", "fox", "/images/5.jpg"):
        assert text in page


def test_hostile_names_are_text_everywhere(tmp_path: Path) -> None:
    hostile = random_multiclass(len(HOSTILE), 60, names=HOSTILE)
    folder = tmp_path / "report"
    rows = most_confidently_wrong(hostile)
    report = write_report(
        folder, hostile, title="<img src=x onerror=alert(2)>", performance={"<b>bold</b>": 1.0},
        details={"<i>key</i>": "<a href='javascript:alert(3)'>value</a>"}, thumbnails=pictures(rows),
    )
    page = Page.parse((folder / "report.html").read_text())
    assert page.tags <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "table", "tr", "th", "td",
                         "figure", "img"}  # no script, a, b or i element came from the data
    assert page.image_sources == len(report["files"])  # and no img either
    for name in HOSTILE + ("<img src=x onerror=alert(2)>", "<b>bold</b>", "<i>key</i>"):
        assert name in page.text
    assert "<a href='javascript:alert(3)'>value</a>" in page.text
    assert report["classNames"] == list(HOSTILE)  # the data itself is kept as given
    for plot in report["plots"]:  # the dollar signs did not trip matplotlib's mathtext
        with Image.open(folder / plot["file"]) as image:
            image.load()


@pytest.mark.slow
def test_multilabel_and_many_class_reports_render(tmp_path: Path) -> None:
    for name, predictions in [("tags", random_multilabel(12, 300)), ("many", random_multiclass(60, 600))]:
        report = write_report(tmp_path / name, predictions, title=name, performance={})
        assert sorted(path.name for path in (tmp_path / name).glob("*.png")) == sorted(report["files"])
        page = (tmp_path / name / "report.html").read_text()
        assert page.count("data:image/png;base64,") == 5
    assert "Threshold" in (tmp_path / "tags" / "report.html").read_text()


@pytest.mark.slow
def test_reports_written_in_threads_at_once_are_those_written_alone(tmp_path: Path) -> None:
    """A server writes reports from several threads: no drawing state may leak from one figure into another."""
    sets = {"classes": random_multiclass(6, 200), "tags": random_multilabel(4, 150)}
    for name, predictions in sets.items():
        write_report(tmp_path / f"{name}-alone", predictions, title=name, performance={})
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(write_report, tmp_path / f"{name}-together", predictions, title=name, performance={})
                   for name, predictions in sets.items()]
        for future in futures:
            future.result()
    for name in sets:
        alone = {path.name: path.read_bytes() for path in (tmp_path / f"{name}-alone").iterdir()}
        assert {path.name: path.read_bytes() for path in (tmp_path / f"{name}-together").iterdir()} == alone


def test_read_report_gives_back_what_write_report_returned(written: tuple[Path, dict]) -> None:
    folder, report = written
    assert read_report(folder) == report
    assert json.loads((folder / "report.json").read_text()) == report
    assert render_html(read_report(folder), folder) == (folder / "report.html").read_text()


def test_read_report_without_a_report_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_report(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError):
        read_report(tmp_path / "empty")


def test_a_new_report_replaces_the_old_folder_whole(tmp_path: Path) -> None:
    folder = tmp_path / "evaluations" / "report"
    first = animals()
    write_report(folder, first, title="first", performance={}, thumbnails=pictures(most_confidently_wrong(first)))
    assert (folder / "thumbnail-5.jpg").exists()
    (folder / "stray.txt").write_text("left by hand")
    second = write_report(folder, landscape(), title="second", performance={})
    assert read_report(folder) == second and second["title"] == "second"
    assert {path.name for path in folder.iterdir()} == set(second["files"]) | {"report.json", "report.html"}
    assert [path.name for path in folder.parent.iterdir()] == ["report"]  # no temporary sibling left behind


def test_a_failed_write_leaves_the_old_report_as_it_was(tmp_path: Path) -> None:
    folder = tmp_path / "report"
    old = write_report(folder, animals(), title="old", performance={})
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    with pytest.raises(TypeError):  # not JSON: found while writing, after the plots were drawn
        write_report(folder, landscape(), title="new", performance={"accuracyTop1": object()})
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    assert read_report(folder) == old
    assert [path.name for path in tmp_path.iterdir()] == ["report"]
