"""The report's plots, drawn from the report's own JSON with matplotlib (Agg) into PNG bytes.

Each plot is a `matplotlib.figure.Figure` of its own, never pyplot: pyplot keeps global state that would leak between
the threads of a server.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, Literal

import matplotlib
import numpy as np

matplotlib.use("Agg")  # no display, ever; set before anything draws

from matplotlib.axes import Axes
from matplotlib.figure import Figure

DPI = 100
MAX_CELL_COUNTS = 20  # above this many classes the counts would not fit in the confusion matrix's cells
MAX_TICK_LABELS = 40  # above this many classes the class names would overlap: the axes show indices instead
MAX_LEGEND_ENTRIES = 10  # above this many curves a legend hides the plot and no colour can be told apart
_LABEL_LENGTH = 24


class Plot(str, Enum):
    """The plots of a report; the value is the file's stem."""

    CONFUSION_MATRIX = "confusion-matrix"
    PER_CLASS = "per-class"
    PRECISION_RECALL = "precision-recall"
    ROC = "roc"
    RELIABILITY = "reliability"

    @property
    def file_name(self) -> str:
        return f"{self.value}.png"

    @property
    def title(self) -> str:  # type: ignore[override]  # shadows str.title() on purpose: no one title-cases a plot's value
        return _TITLES[self]


_TITLES = {
    Plot.CONFUSION_MATRIX: "Confusion matrix",
    Plot.PER_CLASS: "Precision, recall and F1 per class",
    Plot.PRECISION_RECALL: "Precision-recall curves",
    Plot.ROC: "ROC curves",
    Plot.RELIABILITY: "Reliability diagram",
}


def draw(plot: Plot, report: Mapping[str, Any]) -> bytes:
    """The PNG of one plot of `report` (the dict that report.json holds)."""
    return png_of(_DRAWERS[plot](report))


def png_of(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _confusion_matrix(report: Mapping[str, Any]) -> Figure:
    names = report["classNames"]
    count = len(names)
    if report["multilabel"]:
        # One row per tag: [tn, fp, fn, tp]; colours are rates within the truth (tn, fp among the images without the
        # tag; fn, tp among those with it), the multilabel counterpart of a row-normalised matrix.
        cells = np.array(report["confusionMatrix"], dtype=np.int64).reshape(count, 4)
        rates = np.hstack([_row_normalised(cells[:, :2]), _row_normalised(cells[:, 2:])])
        columns = ["true neg.", "false pos.", "false neg.", "true pos."]
        figure = Figure(figsize=(6.5, float(np.clip(0.3 * count + 2.0, 3.5, 14.0))), layout="constrained")
        axes = figure.add_subplot()
        image = axes.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
        axes.set_xticks(range(4), columns)
        axes.set_xlabel("at each tag's threshold")
        _class_ticks(axes.set_yticks, names)
    else:
        cells = np.array(report["confusionMatrix"], dtype=np.int64)
        rates = _row_normalised(cells)
        side = float(np.clip(0.4 * count + 3.0, 5.0, 14.0))
        figure = Figure(figsize=(side + 1.0, side), layout="constrained")
        axes = figure.add_subplot()
        image = axes.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
        axes.set_xlabel("predicted class" + _by_index(names))
        axes.set_ylabel("true class" + _by_index(names))
        _class_ticks(axes.set_yticks, names)
        _class_ticks(axes.set_xticks, names, rotation=45, ha="right", rotation_mode="anchor")
    if count <= MAX_CELL_COUNTS:
        for (row, column), value in np.ndenumerate(cells):
            colour = "white" if rates[row, column] > 0.5 else "black"
            axes.text(column, row, str(value), ha="center", va="center", color=colour, fontsize=8)
    if report["multilabel"]:
        share = "share of the images with (or without) the tag"
    else:
        share = "share of the true class's images"
    figure.colorbar(image, ax=axes, label=share, shrink=0.8)
    axes.set_title(Plot.CONFUSION_MATRIX.title)
    return figure


def _per_class(report: Mapping[str, Any]) -> Figure:
    rows = report["perClass"]
    count = len(rows)
    figure = Figure(figsize=(float(np.clip(0.45 * count + 2.5, 6.0, 16.0)), 4.5), layout="constrained")
    axes = figure.add_subplot()
    positions = np.arange(count)
    width = 0.27
    for offset, (key, label) in enumerate([("precision", "precision"), ("recall", "recall"), ("f1", "F1")]):
        axes.bar(positions + (offset - 1) * width, [row[key] for row in rows], width, label=label)
    axes.set_ylim(0.0, 1.05)
    axes.set_ylabel("at each tag's threshold" if report["multilabel"] else "of the top-1 decisions")
    names = [row["className"] for row in rows]
    _class_ticks(axes.set_xticks, names, rotation=45, ha="right", rotation_mode="anchor")
    axes.set_xlabel("class" + _by_index(names))
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")  # beside the bars, never on them
    axes.set_title(Plot.PER_CLASS.title)
    return figure


def _precision_recall(report: Mapping[str, Any]) -> Figure:
    figure, axes = _square_axes(Plot.PRECISION_RECALL.title, "recall", "precision")
    for entry, row in zip(report["curves"], report["perClass"]):
        curve = entry["precisionRecall"]
        if curve is not None:
            label = f"{_label(entry['className'])} (AP {row['averagePrecision']:.2f})"
            axes.plot(curve["recall"], curve["precision"], drawstyle="steps-post", linewidth=1.2, label=label)
    _finish_curves(axes, report, "lower left")
    return figure


def _roc(report: Mapping[str, Any]) -> Figure:
    figure, axes = _square_axes(Plot.ROC.title, "false positive rate", "true positive rate")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
    for entry, row in zip(report["curves"], report["perClass"]):
        curve = entry["roc"]
        if curve is not None:
            label = f"{_label(entry['className'])} (AUC {row['rocAuc']:.2f})"
            axes.plot(curve["falsePositiveRate"], curve["truePositiveRate"], linewidth=1.2, label=label)
    _finish_curves(axes, report, "lower right")
    return figure


def _reliability(report: Mapping[str, Any]) -> Figure:
    bins = report["reliability"]
    lower = np.array([b["lower"] for b in bins])
    width = np.array([b["upper"] for b in bins]) - lower
    accuracy = np.array([b["accuracy"] or 0.0 for b in bins])  # an empty bin has no bar
    confidence = [b["meanConfidence"] for b in bins]
    figure = Figure(figsize=(5.5, 6.0), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    top.bar(lower, accuracy, width, align="edge", edgecolor="black", linewidth=0.5, label="observed")
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8, label="perfect calibration")
    shown = [(c, a) for c, a, b in zip(confidence, accuracy, bins) if b["count"]]
    if shown:
        top.plot(*zip(*shown), "o", color="tab:red", markersize=3, label="at the bin's mean confidence")
    top.set_xlim(0.0, 1.0)
    top.set_ylim(0.0, 1.0)
    top.set_ylabel("frequency of the tag" if report["multilabel"] else "accuracy")
    top.legend(loc="upper left", fontsize="small")
    top.set_title(Plot.RELIABILITY.title)
    bottom.bar(lower, [b["count"] for b in bins], width, align="edge", color="grey", edgecolor="black", linewidth=0.5)
    bottom.set_xlabel("score of each tag" if report["multilabel"] else "confidence (top-1 probability)")
    bottom.set_ylabel("count")
    return figure


_DRAWERS: dict[Plot, Callable[[Mapping[str, Any]], Figure]] = {
    Plot.CONFUSION_MATRIX: _confusion_matrix,
    Plot.PER_CLASS: _per_class,
    Plot.PRECISION_RECALL: _precision_recall,
    Plot.ROC: _roc,
    Plot.RELIABILITY: _reliability,
}


def _square_axes(title: str, x_label: str, y_label: str) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(6.0, 5.5), layout="constrained")
    axes = figure.add_subplot()
    axes.set_xlim(-0.01, 1.01)
    axes.set_ylim(-0.01, 1.05)
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    return figure, axes


def _finish_curves(axes: Axes, report: Mapping[str, Any], location: Literal["lower left", "lower right"]) -> None:
    if not axes.get_legend_handles_labels()[0]:
        axes.text(0.5, 0.5, "no class has both positive and negative images", ha="center", va="center")
    elif len(report["classNames"]) <= MAX_LEGEND_ENTRIES:
        axes.legend(loc=location, fontsize="small", framealpha=0.9)


def _class_ticks(set_ticks: Callable[..., Any], names: list[str], **text: Any) -> None:
    """Class names as tick labels when they fit; otherwise ticks at class indices every few classes."""
    if len(names) <= MAX_TICK_LABELS:
        set_ticks(range(len(names)), [_label(name) for name in names], fontsize=8, **text)
    else:
        step = int(np.ceil(len(names) / MAX_TICK_LABELS))
        set_ticks(range(0, len(names), step))


def _by_index(names: list[str]) -> str:
    """What an axis label adds when the ticks are class indices (the report's per-class table numbers them)."""
    return "" if len(names) <= MAX_TICK_LABELS else " (index)"


def _label(name: str) -> str:
    """A class name as matplotlib text: shortened, and with `$` escaped so that a name is never read as mathtext
    (two dollar signs in one name would otherwise fail to draw, or draw as a formula)."""
    short = name if len(name) <= _LABEL_LENGTH else name[: _LABEL_LENGTH - 1] + "…"
    return short.replace("$", r"\$")


def _row_normalised(cells: np.ndarray) -> np.ndarray:
    totals = cells.sum(axis=1, keepdims=True)
    return np.divide(cells, totals, out=np.zeros(cells.shape), where=totals > 0)
