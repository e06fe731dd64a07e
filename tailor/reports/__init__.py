"""Evaluation reports: a classifier's or a detector's predictions on a labelled image set, turned into numbers,
plots and a page.

    _predictions.py            Predictions: scores and targets, checked once; the decisions (top-1, or each tag at
                               its threshold)
    _ranking.py                the most confidently wrong predictions, worst first
    _data.py                   the numbers, with scikit-learn: confusion matrix, per-class scores, curves,
                               reliability bins
    _plots.py                  the plots, drawn with matplotlib (Agg, a Figure each, no pyplot) from the report's JSON

    _detection_predictions.py  DetectionPredictions: true boxes and detections per image, checked once
    _coco_evaluation.py        the detections matched to the true boxes by pycocotools' COCOeval, with its precision
                               and recall; run once per DetectionPredictions
    _detection_ranking.py      the worst detected images: missed true boxes and confident false positives
    _detection_data.py         a detector's numbers: per-class AP, COCOeval's precision-recall curves, the sweep of
                               the confidence floor, the worst images' table
    _detection_plots.py        a detector's plots, drawn as _plots.py draws a classifier's
    _drawn_boxes.py            a thumbnail with the true boxes and the detections drawn on it (Pillow)
    _detection_report.py       a detector's report.json and images

    _thumbnails.py             thumbnails as small JPEG files
    _html.py                   the self-contained HTML page (jinja2, autoescaped; images as data: URIs; no script)
    _stored.py                 save_predictions, load_predictions and parse_predictions: the predictions behind a
                               report, kept as JSON
    _files.py                  write_report and read_report: report.json, report.html and the images, one folder,
                               atomically; a classifier's report or a detector's, by the type of the predictions

Pure: no network, database or queue here; the caller fetches the thumbnails and says where the folder is.

May import: tailor.enums (the vocabulary), tailor.files (writes whole or not at all), nothing else of Tailor.
"""

from ._coco_evaluation import evaluate as evaluate_detections
from ._detection_predictions import DetectionPredictions
from ._detection_ranking import worst_detected
from ._files import read_report, write_report
from ._html import render_html
from ._predictions import Predictions
from ._ranking import most_confidently_wrong
from ._stored import load_predictions, parse_predictions, save_predictions

__all__ = [
    "DetectionPredictions",
    "Predictions",
    "evaluate_detections",
    "load_predictions",
    "most_confidently_wrong",
    "parse_predictions",
    "read_report",
    "render_html",
    "save_predictions",
    "worst_detected",
    "write_report",
]
