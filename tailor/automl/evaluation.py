"""A trained classifier measured on a labelled dataset: the dataset's categories are matched to the model's classes
by name, every image is predicted through the same Predictor as analyze, and the figures are those of training
(metrics.py), so that an evaluation and the model's own modelPerformance can be compared.

    measured = evaluate_classifier(artifact_dir, dataset, fetch)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..coco import CocoDataset
from ..enums import EvaluationFailureCode
from ..reports import DetectionPredictions, Predictions, most_confidently_wrong
from .artifact import ArtifactError
from .failures import EvaluationFailed, TrainingFailed
from .images import Fetch, load_images, thumbnail
from .metrics import classification_performance
from .predictor import Predictor

BATCH = 32  # images decoded to tensors at once: bounds the memory of a large test set


@dataclass(frozen=True)
class Measured:
    performance: dict[str, Any]
    predictions: Predictions | DetectionPredictions  # a classifier's or a detector's
    thumbnails: dict[int, Image.Image]  # of the most confidently wrong rows, for the report
    skipped: dict[str, int]  # why images were left out, and how many: {"unlabelled": n, "unknownCategories": m}


def evaluate_classifier(
    artifact_dir: Path, dataset: CocoDataset, fetch: Fetch, *, device: str | None = None
) -> Measured:
    try:
        predictor = Predictor.load(artifact_dir, device)
    except (ArtifactError, OSError) as exc:
        raise EvaluationFailed(
            EvaluationFailureCode.MODEL_NOT_FOUND, f"the model's files cannot be read ({exc}); train it again"
        ) from None
    rows, targets, skipped = _targets(dataset, predictor.class_names, multilabel=predictor.multilabel)
    try:
        images = load_images([dataset.image_urls[r] for r in rows.tolist()], fetch, keep_side=predictor.keep_side)
    except TrainingFailed as failed:
        raise EvaluationFailed(EvaluationFailureCode.DATASET_ANNOTATIONS_INVALID, failed.message) from None
    scores = np.concatenate([predictor.probabilities(images[k : k + BATCH]) for k in range(0, len(images), BATCH)])
    thresholds = predictor.config.thresholds
    performance = classification_performance(
        scores, targets, predictor.class_names, multilabel=predictor.multilabel, thresholds=thresholds
    )
    predictions = Predictions(
        class_names=predictor.class_names,
        multilabel=predictor.multilabel,
        scores=scores,
        targets=targets,
        image_names=tuple(dataset.image_urls[r] for r in rows.tolist()),
        thresholds=thresholds,
    )
    thumbnails = {row: thumbnail(images[row]) for row in most_confidently_wrong(predictions)}
    return Measured(performance, predictions, thumbnails, skipped)


def _targets(
    dataset: CocoDataset, class_names: tuple[str, ...], *, multilabel: bool
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """The rows of the images that can be scored and their targets in the model's class order. An image without a
    label, or with a category the model does not know, cannot be scored: it is left out and counted."""
    if len(dataset.annotation_images) == 0:
        raise EvaluationFailed(
            EvaluationFailureCode.DATASET_EMPTY,
            f"the dataset has {dataset.num_images} image(s) and no annotations: there is nothing to measure",
        )
    known = {name: c for c, name in enumerate(class_names)}
    to_class = np.array([known.get(name, -1) for name in dataset.categories])
    classes = to_class[dataset.annotation_categories]
    labelled = np.unique(dataset.annotation_images)
    with_unknown = np.unique(dataset.annotation_images[classes < 0])
    rows = np.setdiff1d(labelled, with_unknown)
    if rows.size == 0:
        unknown = sorted({dataset.categories[c] for c in np.unique(dataset.annotation_categories) if to_class[c] < 0})
        raise EvaluationFailed(
            EvaluationFailureCode.DATASET_ANNOTATIONS_INVALID,
            f"no image is labelled with a class of the model: the dataset's categories {_listed(unknown)} are not "
            f"among the model's {_listed(class_names)}; category names must match",
        )
    position = np.searchsorted(rows, dataset.annotation_images)
    kept = np.isin(dataset.annotation_images, rows)
    if multilabel:
        targets = np.zeros((rows.size, len(class_names)), dtype=np.int64)
        targets[position[kept], classes[kept]] = 1
    else:
        # One class per image, as in training: each image's first annotation.
        _, first = np.unique(position[kept], return_index=True)
        targets = classes[kept][first].astype(np.int64)
    skipped = {"unlabelled": int(dataset.num_images - labelled.size), "unknownCategories": int(with_unknown.size)}
    return rows, targets, skipped


def _listed(names) -> str:
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:10])
    return shown + (f" and {len(names) - 10} more" if len(names) > 10 else "")


def evaluate_detector(artifact_dir: Path, dataset: CocoDataset, fetch: Fetch, *, device: str | None = None) -> Measured:
    """A detector on a labelled detection dataset: every image counts (one without boxes is a negative: whatever is
    found on it is a false positive); boxes of categories the model does not know are left out and counted."""
    from ..automl.detection.data import targets_of
    from ..automl.detection.detector import EVALUATION_FLOOR, Detector
    from ..automl.detection.fit import predictions_of
    from ..automl.detection_metrics import detection_performance
    from ..reports import worst_detected
    from .images import DETECTION_KEEP_SIDE

    try:
        detector = Detector.load(artifact_dir, device, score_floor=EVALUATION_FLOOR)
    except (ArtifactError, OSError) as exc:
        raise EvaluationFailed(
            EvaluationFailureCode.MODEL_NOT_FOUND, f"the model's files cannot be read ({exc}); train it again"
        ) from None
    if dataset.num_images == 0:
        raise EvaluationFailed(EvaluationFailureCode.DATASET_EMPTY, "the dataset has no images: there is nothing to measure")
    known = {name: c for c, name in enumerate(detector.class_names)}
    to_class = np.array([known.get(name, -1) for name in dataset.categories])
    if len(dataset.annotation_categories) and (to_class[dataset.annotation_categories] < 0).all():
        unknown = sorted({dataset.categories[c] for c in np.unique(dataset.annotation_categories)})
        raise EvaluationFailed(
            EvaluationFailureCode.DATASET_ANNOTATIONS_INVALID,
            f"no box is labelled with a class of the model: the dataset's categories {_listed(unknown)} are not "
            f"among the model's {_listed(detector.class_names)}; category names must match",
        )
    try:
        images = load_images(dataset.image_urls, fetch, keep_side=DETECTION_KEEP_SIDE)
    except TrainingFailed as failed:
        raise EvaluationFailed(EvaluationFailureCode.DATASET_ANNOTATIONS_INVALID, failed.message) from None
    targets = targets_of(dataset, images, to_class)
    unknown_boxes = sum(int((labels < 0).sum()) for labels in targets.labels)
    targets = type(targets)(
        tuple(b[lab >= 0] for b, lab in zip(targets.boxes, targets.labels)),
        tuple(lab[lab >= 0] for lab in targets.labels),
    )
    found = [f for k in range(0, len(images), BATCH) for f in detector.detect(images[k : k + BATCH])]
    rows = np.arange(len(images))
    predictions = predictions_of(found, images, targets, rows, detector.class_names, dataset.image_urls)
    performance = detection_performance(predictions)
    thumbnails = {k: thumbnail(images[k]) for k in worst_detected(predictions)}
    return Measured(performance, predictions, thumbnails, {"unlabelled": 0, "unknownCategories": unknown_boxes})
