"""A detector's report: its JSON, its plots and the thumbnails of its worst images, written into a folder."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from . import _detection_data
from ._detection_plots import DetectionPlot, draw_detection
from ._detection_predictions import DetectionPredictions
from ._detection_ranking import IOU, SHOWN_CONFIDENCE, image_errors
from ._drawn_boxes import boxes_drawn
from ._thumbnails import write_jpeg

SHOWN_WORST = 12  # rows of the worst-images table: worst_detected's default k


def write_detection_contents(
    folder: Path, predictions: DetectionPredictions, header: Mapping[str, Any], thumbnails: Mapping[int, Image.Image]
) -> dict:
    """Writes the plots and the thumbnails (boxes drawn on them) of the SHOWN_WORST worst images into `folder`;
    returns the report JSON dict, `header` first. Thumbnails of other images are not written."""
    shown = image_errors(predictions)[:SHOWN_WORST]
    thumbnail_names = {}
    for errors in shown:
        if errors.image in thumbnails:
            name = f"thumbnail-{errors.image}.jpg"
            drawn = boxes_drawn(thumbnails[errors.image], predictions, errors.image, SHOWN_CONFIDENCE)
            write_jpeg(folder / name, drawn)
            thumbnail_names[errors.image] = name
    report = {
        **header,
        "classNames": list(predictions.class_names),
        "imageCount": predictions.count,
        "trueBoxCount": int(predictions.true_counts.sum()),
        "detectionCount": sum(len(scores) for scores in predictions.scores),
        "iouThreshold": IOU,
        "shownConfidence": SHOWN_CONFIDENCE,
        "perClass": _detection_data.per_class(predictions),
        "curves": _detection_data.curves(predictions),
        "confidenceSweep": _detection_data.confidence_sweep(predictions),
        "worst": _detection_data.worst_rows(predictions, shown, thumbnail_names),
        "plots": [{"kind": plot.value, "title": plot.title, "file": plot.file_name} for plot in DetectionPlot],
    }
    report["files"] = [plot.file_name for plot in DetectionPlot] + list(thumbnail_names.values())
    for plot in DetectionPlot:
        (folder / plot.file_name).write_bytes(draw_detection(plot, report))
    return report
