"""The report as one self-contained HTML page: plots and thumbnails embedded as data: URIs, CSS inline, no script.
A classifier's page and a detector's share the page's frame (head, style, title, details) and differ in the body.

Class names, image names, titles and details are user data: the template autoescapes every value, and the page's
Content-Security-Policy allows no script at all, so a hostile name can only ever show as text.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from ..enums import AnnotationKind

# The summary's known figures, in this order, with how each reads best; other scalar entries follow as they come.
_SUMMARY_LABELS = {
    "accuracyTop1": ("Top-1 accuracy", "percent"),
    "accuracyTop5": ("Top-5 accuracy", "percent"),
    "averagePrecision": ("Mean average precision", "number"),
    "calibrationECE": ("Expected calibration error", "number"),
    "meanAveragePrecision50": ("Mean average precision at IoU 0.5", "number"),
    "meanAveragePrecision30": ("Mean average precision at IoU 0.3", "number"),
    "meanAveragePrecision75": ("Mean average precision at IoU 0.75", "number"),
}
LISTED = 10  # names shown in a cell of the worst-images table; the rest are counted
_MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}

_FRAME = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>{{ report["title"] }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 75rem;
       padding: 0 1rem; color: #1b1b1b; line-height: 1.4; }
h1 { margin-bottom: .5rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { padding: .25rem .75rem; border-bottom: 1px solid #eee; text-align: left; vertical-align: middle; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.details th, table.summary th { font-weight: 600; color: #444; }
.name { overflow-wrap: anywhere; max-width: 28rem; }
figure { display: inline-block; margin: 0 1.5rem 1.5rem 0; vertical-align: top; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
img.thumbnail { max-width: 96px; max-height: 96px; }
.note { color: #666; }
{% block style %}{% endblock %}
</style>
</head>
<body>
<h1>{{ report["title"] }}</h1>
{% if report["details"] %}
<table class="details">
{% for key, value in report["details"].items() %}<tr><th>{{ key }}</th><td class="name">{{ value }}</td></tr>
{% endfor %}</table>
{% endif %}

{% block content %}{% endblock %}
</body>
</html>
"""

_CLASSIFIER = """{% extends "frame" %}
{% block content %}
<h2>Summary</h2>
<table class="summary">
<tr><th>Images</th><td class="n">{{ report["imageCount"] }}</td></tr>
<tr><th>Classes</th><td class="n">{{ report["classNames"] | length }}
  ({{ "multilabel" if report["multilabel"] else "multiclass" }})</td></tr>
{% for label, value in summary %}<tr><th>{{ label }}</th><td class="n">{{ value }}</td></tr>
{% endfor %}</table>

<h2>Plots</h2>
{% for plot in plots %}<figure><img src="{{ plot.uri }}" alt="{{ plot.title }}"></figure>
{% endfor %}

<h2>Per class</h2>
<p class="note">Precision, recall and F1 of the decisions ({{ "each tag at its threshold" if report["multilabel"]
  else "the top-1 class" }}); average precision and ROC AUC rank every image by the class's score.
  &mdash; means undefined: no image has the class (or, for ROC AUC, every image has it).</p>
<table class="per-class">
<tr><th>#</th><th>Class</th>{% if report["multilabel"] %}<th>Threshold</th>{% endif %}<th>Support</th><th>Precision</th>
<th>Recall</th><th>F1</th><th>Average precision</th><th>ROC AUC</th>{% if accuracies %}<th>Accuracy</th>{% endif %}</tr>
{% for row in report["perClass"] %}<tr><td class="n">{{ loop.index0 }}</td><td class="name">{{ row["className"] }}</td>
{% if report["multilabel"] %}<td class="n">{{ report["thresholds"][loop.index0] | number }}</td>{% endif %}
<td class="n">{{ row["support"] }}</td><td class="n">{{ row["precision"] | number }}</td>
<td class="n">{{ row["recall"] | number }}</td><td class="n">{{ row["f1"] | number }}</td>
<td class="n">{{ row["averagePrecision"] | number }}</td><td class="n">{{ row["rocAuc"] | number }}</td>
{% if accuracies %}<td class="n">{{ accuracies[loop.index0] | number }}</td>{% endif %}</tr>
{% endfor %}</table>

<h2>Most confidently wrong</h2>
{% if wrong %}
<table class="wrong">
<tr><th></th><th>Image</th><th>True</th><th>Predicted</th><th>Misjudged</th><th>Score</th></tr>
{% for row in wrong %}<tr>
<td>{% if row.uri %}<img class="thumbnail" src="{{ row.uri }}" alt="thumbnail of image {{ row.row }}">{% endif %}</td>
<td class="name">{{ row.image }}</td><td class="name">{{ row.true | join(", ") or "(none)" }}</td>
<td class="name">{{ row.predicted | join(", ") or "(none)" }}</td><td class="name">{{ row.misjudged }}</td>
<td class="n">{{ row.confidence | number }}</td></tr>
{% endfor %}</table>
{% else %}
<p class="note">Every image is predicted right.</p>
{% endif %}
{% endblock %}
"""

_DETECTOR = """{% extends "frame" %}
{% block style %}
img.boxes { max-width: 320px; max-height: 320px; }
.true { color: #008a00; font-weight: 600; } .detected { color: #c00000; font-weight: 600; }
{% endblock %}
{% block content %}
<h2>Summary</h2>
<table class="summary">
<tr><th>Images</th><td class="n">{{ report["imageCount"] }}</td></tr>
<tr><th>Classes</th><td class="n">{{ report["classNames"] | length }}</td></tr>
<tr><th>True boxes</th><td class="n">{{ report["trueBoxCount"] }}</td></tr>
<tr><th>Detections</th><td class="n">{{ report["detectionCount"] }}</td></tr>
{% for label, value in summary %}<tr><th>{{ label }}</th><td class="n">{{ value }}</td></tr>
{% endfor %}</table>

<h2>Plots</h2>
{% for plot in plots %}<figure><img src="{{ plot.uri }}" alt="{{ plot.title }}"></figure>
{% endfor %}

<h2>Per class</h2>
<p class="note">Average precision as COCO computes it (precision at 101 recall points, at most 100 detections per
  image and class) at IoU 0.3, 0.5 and 0.75; recall is the share of the class's true boxes found at IoU
  {{ report["iouThreshold"] }}. &mdash; means undefined: the class has no true box.</p>
<table class="per-class">
<tr><th>#</th><th>Class</th><th>True boxes</th><th>Detections</th><th>AP at IoU 0.3</th><th>AP at IoU 0.5</th>
<th>AP at IoU 0.75</th><th>Recall at IoU {{ report["iouThreshold"] }}</th></tr>
{% for row in report["perClass"] %}<tr><td class="n">{{ loop.index0 }}</td><td class="name">{{ row["className"] }}</td>
<td class="n">{{ row["trueBoxes"] }}</td><td class="n">{{ row["detections"] }}</td>
<td class="n">{{ row["averagePrecision30"] | number }}</td><td class="n">{{ row["averagePrecision50"] | number }}</td>
<td class="n">{{ row["averagePrecision75"] | number }}</td><td class="n">{{ row["recall50"] | number }}</td></tr>
{% endfor %}</table>

<h2>Worst detected images</h2>
<p class="note">At IoU {{ report["iouThreshold"] }}, among the detections scoring {{ report["shownConfidence"] }} or
  more: the true boxes that none of them found, and those of them that found none (false positives), ranked by the
  missed boxes plus the confidences of the false positives. On the images: <span class="true">true boxes in
  green</span>, <span class="detected">detections scoring {{ report["shownConfidence"] }} or more in red</span>.</p>
{% if worst %}
<table class="worst">
<tr><th></th><th>Image</th><th>True boxes</th><th>Missed</th><th>False positives</th></tr>
{% for row in worst %}<tr>
<td>{% if row.uri %}<img class="boxes" src="{{ row.uri }}" alt="image {{ row.index }} with its boxes">{% endif %}</td>
<td class="name">{{ row.image }}</td><td class="n">{{ row.true_boxes }}</td>
<td class="name">{{ row.missed | length }}{% if row.missed %}: {{ row.missed | listed }}{% endif %}</td>
<td class="name">{{ row.false_positives | length }}{% if row.false_positives %}: {{ row.false_positives | listed }}
{%- endif %}</td></tr>
{% endfor %}</table>
{% else %}
<p class="note">No true box is missed, and no detection scoring {{ report["shownConfidence"] }} or more is a false
  positive.</p>
{% endif %}
{% endblock %}
"""


def _number(value: Any) -> str:
    if value is None:
        return "\N{EM DASH}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _percent(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, (int, float)) else _number(value)


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:LISTED])
    return shown if len(items) <= LISTED else f"{shown} and {len(items) - LISTED} more"


_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.DictLoader({"frame": _FRAME, AnnotationKind.CLASSIFICATION.role: _CLASSIFIER,
                              AnnotationKind.DETECTION.role: _DETECTOR}),
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
)
_ENVIRONMENT.filters["number"] = _number
_ENVIRONMENT.filters["listed"] = _listed
_PAGES = {kind: _ENVIRONMENT.get_template(kind.role) for kind in AnnotationKind}


def render_html(report: Mapping[str, Any], folder: Path) -> str:
    """The single self-contained HTML page of `report` (report.json's dict), its images read from `folder`."""
    folder = Path(folder)
    plots = [{"title": plot["title"], "uri": _data_uri(folder, plot["file"])} for plot in report["plots"]]
    # A report written before reports had a kind is a classifier's.
    if AnnotationKind.parse(report.get("kind", AnnotationKind.CLASSIFICATION.role)) is AnnotationKind.DETECTION:
        return _render_detector(report, folder, plots)
    wrong = [
        {
            "row": row["row"],
            "image": row["image"],
            "true": row["trueLabels"],
            "predicted": row["predictedLabels"],
            "misjudged": row["misjudgedLabel"],
            "confidence": row["confidence"],
            "uri": _data_uri(folder, row["thumbnail"]) if row["thumbnail"] else None,
        }
        for row in report["mostConfidentlyWrong"]
    ]
    return _PAGES[AnnotationKind.CLASSIFICATION].render(
        report=report, summary=_summary(report["performance"]), plots=plots, wrong=wrong, accuracies=_accuracies(report)
    )


def _render_detector(report: Mapping[str, Any], folder: Path, plots: list[dict[str, str]]) -> str:
    worst = [
        {
            "index": row["imageIndex"],
            "image": row["image"],
            "true_boxes": row["trueBoxes"],
            "missed": row["missed"],
            "false_positives": [f"{box['className']} {box['confidence']:.2f}" for box in row["falsePositives"]],
            "uri": _data_uri(folder, row["thumbnail"]) if row["thumbnail"] else None,
        }
        for row in report["worst"]
    ]
    return _PAGES[AnnotationKind.DETECTION].render(report=report, summary=_summary(report["performance"]), plots=plots, worst=worst)


def _summary(performance: Mapping[str, Any]) -> list[tuple[str, str]]:
    known = [(label, _percent(performance[key]) if kind == "percent" else _number(performance[key]))
             for key, (label, kind) in _SUMMARY_LABELS.items() if key in performance]
    others = [(key, _number(value)) for key, value in performance.items()
              if key not in _SUMMARY_LABELS and not isinstance(value, (Mapping, list))]
    return known + others


def _accuracies(report: Mapping[str, Any]) -> list[Any] | None:
    """Each class's accuracy from modelPerformance's tagPerformance, in class order; None when it has none."""
    tags = report["performance"].get("tagPerformance")
    if not isinstance(tags, Mapping) or not tags:
        return None
    return [(tags.get(name) or {}).get("accuracy") for name in report["classNames"]]


def _data_uri(folder: Path, file_name: str) -> str:
    # Only a bare name in `folder` is read, whatever report.json says.
    path = folder / Path(file_name).name
    media_type = _MEDIA_TYPES[path.suffix.lower()]
    return f"data:{media_type};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
