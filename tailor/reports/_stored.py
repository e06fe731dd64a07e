"""Predictions kept beside a model (its held-out images'), so that figures at any threshold can be computed later
without running the model again: Custom Vision's performance slider is one such figure. Plain JSON, versioned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..enums import AnnotationKind
from ..files import write_whole
from ._detection_predictions import DetectionPredictions
from ._predictions import Predictions

STORED_VERSION = 1


def save_predictions(path: Path, predictions: Predictions | DetectionPredictions) -> None:
    """Written atomically (a temporary file renamed into place)."""
    body: dict[str, Any]  # a JSON object: its values are of many types
    if isinstance(predictions, DetectionPredictions):
        body = {
            "kind": predictions.kind.role, "classNames": list(predictions.class_names),
            "imageNames": list(predictions.image_names), "imageSizes": [list(s) for s in predictions.image_sizes],
            "trueBoxes": [b.tolist() for b in predictions.true_boxes],
            "trueLabels": [x.tolist() for x in predictions.true_labels],
            "boxes": [b.tolist() for b in predictions.boxes], "labels": [x.tolist() for x in predictions.labels],
            "scores": [x.tolist() for x in predictions.scores],
        }
    else:
        body = {
            "kind": predictions.kind.role, "classNames": list(predictions.class_names), "multilabel": predictions.multilabel,
            "imageNames": list(predictions.image_names), "scores": predictions.scores.tolist(),
            "targets": np.asarray(predictions.targets).tolist(),
            "thresholds": list(predictions.thresholds) if predictions.thresholds is not None else None,
        }
    write_whole(Path(path), json.dumps({"storedVersion": STORED_VERSION, **body}))


def load_predictions(path: Path) -> Predictions | DetectionPredictions:
    """FileNotFoundError when there is none."""
    return parse_predictions(Path(path).read_bytes())


def parse_predictions(data: bytes) -> Predictions | DetectionPredictions:
    """What `save_predictions` wrote, read from its bytes (kept in Tailor's storage, say)."""
    body = json.loads(data)
    if AnnotationKind.parse(body["kind"]) is AnnotationKind.DETECTION:
        return DetectionPredictions(
            class_names=tuple(body["classNames"]), image_names=tuple(body["imageNames"]),
            image_sizes=tuple(tuple(s) for s in body["imageSizes"]),
            true_boxes=tuple(np.asarray(b, dtype=np.float64) for b in body["trueBoxes"]),
            true_labels=tuple(np.asarray(x, dtype=np.int64) for x in body["trueLabels"]),
            boxes=tuple(np.asarray(b, dtype=np.float64) for b in body["boxes"]),
            labels=tuple(np.asarray(x, dtype=np.int64) for x in body["labels"]),
            scores=tuple(np.asarray(x, dtype=np.float64) for x in body["scores"]),
        )
    thresholds = body.get("thresholds")
    return Predictions(
        class_names=tuple(body["classNames"]), multilabel=bool(body["multilabel"]),
        scores=np.asarray(body["scores"], dtype=np.float64), targets=np.asarray(body["targets"]),
        image_names=tuple(body["imageNames"]), thresholds=tuple(thresholds) if thresholds is not None else None,
    )
