"""A report on disk: report.json, report.html and the images, written atomically as one folder."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from PIL import Image

from . import _data
from ._detection_predictions import DetectionPredictions
from ._detection_report import write_detection_contents
from ._html import render_html
from ._plots import Plot, draw
from ._predictions import Predictions
from ._ranking import mistakes
from ._thumbnails import write_jpeg

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
REPORT_VERSION = 1  # bumped when a field changes meaning, so that a reader can tell an old report
SHOWN_MISTAKES = 12  # rows of the most-confidently-wrong table: most_confidently_wrong's default k
THUMBNAIL_SIZE = (160, 160)
_NOTHING: Mapping[Any, Any] = MappingProxyType({})


def write_report(
    folder: Path,
    predictions: Predictions | DetectionPredictions,
    *,
    title: str,
    performance: Mapping[str, Any],
    details: Mapping[str, str] = _NOTHING,
    thumbnails: Mapping[int, Image.Image] = _NOTHING,
) -> dict:
    """Writes folder/report.json, folder/report.html and the PNG files (plots, plus a small JPEG thumbnail per row in
    `thumbnails`, keyed by row index, for the most-confidently-wrong table). Returns the report JSON dict.

    `performance` is the modelPerformance dict already computed elsewhere, shown as the summary; `details` are free
    key/value lines shown at the top (model name, dataset, date...). Thumbnails of rows that the table does not show
    (it shows the SHOWN_MISTAKES rows of `most_confidently_wrong(predictions)`) are not written.

    A detector's report (`predictions` a DetectionPredictions; report.json's `kind` "detector", a classifier's
    "classifier") has the per-class AP table, precision-recall curves, the confidence-floor plot and the worst
    detected images; `thumbnails` are keyed by image index, the whole image shrunk, and are drawn on with the
    boxes. The table shows `worst_detected(predictions)`; the thumbnails of other images are not written.

    Writing is atomic: into a temporary sibling folder, then renamed, so a reader never sees half a report; an
    existing folder is replaced.
    """
    if not isinstance(predictions, (Predictions, DetectionPredictions)):
        raise TypeError(f"a report is made from Predictions or DetectionPredictions, not {type(predictions).__name__}")
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".new", dir=folder.parent))
    try:
        report = _write_contents(staging, predictions, title, performance, details, thumbnails)
        _replace(folder, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


def read_report(folder: Path) -> dict:
    """The report.json of the report in `folder`; FileNotFoundError when there is none."""
    return json.loads((Path(folder) / REPORT_JSON).read_text(encoding="utf-8"))


def _write_contents(
    staging: Path,
    predictions: Predictions | DetectionPredictions,
    title: str,
    performance: Mapping[str, Any],
    details: Mapping[str, str],
    thumbnails: Mapping[int, Image.Image],
) -> dict:
    header = {
        "reportVersion": REPORT_VERSION,
        "kind": predictions.kind.role,
        "title": str(title),
        "details": {str(key): str(value) for key, value in details.items()},
        "performance": _data.plain_json(performance),
    }
    if isinstance(predictions, DetectionPredictions):
        report = write_detection_contents(staging, predictions, header, thumbnails)
    else:
        report = _write_classifier_contents(staging, predictions, header, thumbnails)
    # allow_nan=False: a NaN that slipped through fails here, not in a client's JSON parser.
    (staging / REPORT_JSON).write_text(json.dumps(report, allow_nan=False, ensure_ascii=False), encoding="utf-8")
    (staging / REPORT_HTML).write_text(render_html(report, staging), encoding="utf-8")
    return report


def _write_classifier_contents(
    staging: Path, predictions: Predictions, header: Mapping[str, Any], thumbnails: Mapping[int, Image.Image]
) -> dict:
    shown = mistakes(predictions)[:SHOWN_MISTAKES]
    thumbnail_names = {}
    for mistake in shown:
        if mistake.row in thumbnails:
            thumbnail_names[mistake.row] = _write_thumbnail(staging, mistake.row, thumbnails[mistake.row])
    report = {
        **header,
        "classNames": list(predictions.class_names),
        "multilabel": predictions.multilabel,
        "thresholds": predictions.threshold_per_class.tolist() if predictions.multilabel else None,
        "imageCount": predictions.count,
        "confusionMatrix": _data.confusion(predictions),
        "perClass": _data.per_class(predictions),
        "curves": _data.curves(predictions),
        "reliability": _data.reliability(predictions),
        "mostConfidentlyWrong": _data.mistake_rows(predictions, shown, thumbnail_names),
        "plots": [{"kind": plot.value, "title": plot.title, "file": plot.file_name} for plot in Plot],
    }
    report["files"] = [plot.file_name for plot in Plot] + list(thumbnail_names.values())
    for plot in Plot:
        (staging / plot.file_name).write_bytes(draw(plot, report))
    return report


def _write_thumbnail(staging: Path, row: int, image: Image.Image) -> str:
    name = f"thumbnail-{row}.jpg"
    small = image.copy()
    small.thumbnail(THUMBNAIL_SIZE)
    write_jpeg(staging / name, small)
    return name


def _replace(folder: Path, staging: Path) -> None:
    """Puts `staging` in place of `folder`. A directory cannot be renamed over a non-empty one, so the old report is
    first renamed aside: in between, a reader finds no report (FileNotFoundError), never a mixture of two."""
    staging.chmod(0o755)  # mkdtemp makes it private to this user; a report is as readable as any other file here
    retired = None
    if folder.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=folder.parent))
        try:
            folder.replace(retired / folder.name)
        except FileNotFoundError:  # another writer retired it first
            pass
    try:
        staging.replace(folder)
    finally:
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
