"""A detector report's plots, drawn from the report's own JSON with matplotlib (Agg, a Figure each, as _plots.py
draws a classifier's) into PNG bytes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ._plots import MAX_LEGEND_ENTRIES, _label, _square_axes, png_of


class DetectionPlot(str, Enum):
    """The plots of a detector's report; the value is the file's stem."""

    PRECISION_RECALL = "precision-recall"
    CONFIDENCE = "confidence"

    @property
    def file_name(self) -> str:
        return f"{self.value}.png"

    @property
    def title(self) -> str:  # type: ignore[override]  # shadows str.title() on purpose: no one title-cases a plot's value
        return _TITLES[self]


_TITLES = {
    DetectionPlot.PRECISION_RECALL: "Precision-recall curves at IoU 0.5",
    DetectionPlot.CONFIDENCE: "Precision and recall by confidence floor, at IoU 0.5",
}


def draw_detection(plot: DetectionPlot, report: Mapping[str, Any]) -> bytes:
    """The PNG of one plot of a detector's `report` (the dict that report.json holds)."""
    return png_of(_DRAWERS[plot](report))


def _precision_recall(report: Mapping[str, Any]) -> Figure:
    figure, axes = _square_axes(DetectionPlot.PRECISION_RECALL.title, "recall", "precision")
    for entry, row in zip(report["curves"], report["perClass"]):
        curve = entry["precisionRecall"]
        if curve is not None:
            label = f"{_label(entry['className'])} (AP {row['averagePrecision50']:.2f})"
            axes.plot(curve["recall"], curve["precision"], linewidth=1.2, label=label)
    if not axes.get_legend_handles_labels()[0]:
        axes.text(0.5, 0.5, "no class has a true box", ha="center", va="center")
    elif len(report["classNames"]) <= MAX_LEGEND_ENTRIES:
        axes.legend(loc="lower left", fontsize="small", framealpha=0.9)
    return figure


def _confidence(report: Mapping[str, Any]) -> Figure:
    sweep = report["confidenceSweep"]
    figure, axes = _square_axes(DetectionPlot.CONFIDENCE.title, "confidence floor (detections scoring this or more)",
                                "all classes pooled")
    confidence = np.array(sweep["confidence"])
    for key, colour in (("precision", "tab:blue"), ("recall", "tab:orange")):
        values = np.array([np.nan if value is None else value for value in sweep[key]])  # a gap where undefined
        axes.plot(confidence, values, color=colour, linewidth=1.5, label=key)
    axes.axvline(report["shownConfidence"], color="grey", linestyle=":", linewidth=1.0,
                 label=f"{report['shownConfidence']:g}: the boxes drawn on the worst images")
    axes.legend(loc="lower left", fontsize="small", framealpha=0.9)
    return figure


_DRAWERS: dict[DetectionPlot, Callable[[Mapping[str, Any]], Figure]] = {
    DetectionPlot.PRECISION_RECALL: _precision_recall,
    DetectionPlot.CONFIDENCE: _confidence,
}
