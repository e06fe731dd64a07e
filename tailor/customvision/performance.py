"""An iteration's performance as Custom Vision reports it: per tag and overall precision and recall at a
probability threshold (and, for detectors, an overlap threshold), average precision, and their standard deviations,
on the images held out of training. Computed from the held-out predictions kept beside the model, so that the
thresholds can be any (the portal's slider); AP by scikit-learn and, for boxes, by pycocotools' COCOeval.

The standard deviations are the binomial standard errors of each proportion, sqrt(p (1 - p) / n): how far the
figure could move on another draw of as many held-out images."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import BlobNotFound
from ..models import HELD_OUT_PREDICTIONS
from .codes import ErrorCode, OrderBy
from .errors import CustomVisionError
from .iterations import IterationService
from .predictions import TagPrediction
from .records import StoredImage

if TYPE_CHECKING:
    from ..blobs import ArtifactStore
    from ..reports import DetectionPredictions, Predictions
    from ..store import Store

@dataclass(frozen=True)
class TagPerformance:
    id: str
    name: str
    precision: float
    precision_std: float
    recall: float
    recall_std: float
    average_precision: float | None


@dataclass(frozen=True)
class IterationPerformance:
    per_tag: list[TagPerformance]
    precision: float
    precision_std: float
    recall: float
    recall_std: float
    average_precision: float | None


@dataclass(frozen=True)
class ImagePerformance:
    """A held-out image with what the iteration predicted for it."""

    image: StoredImage
    predictions: list[TagPrediction]


class PerformanceService:
    def __init__(self, store: Store, iterations: IterationService, artifacts: ArtifactStore):
        self._records = store.projects
        self._iterations = iterations
        self._artifacts = artifacts

    def of_iteration(self, project_id: str, iteration_id: str, threshold: float, overlap: float
                     ) -> IterationPerformance:
        from ..reports import DetectionPredictions

        view, held_out = self._held_out(project_id, iteration_id)
        tag_ids = {name: tag_id for tag_id, name in view.iteration.tags}
        if isinstance(held_out, DetectionPredictions):
            return detection_performance(held_out, tag_ids, threshold, overlap)
        return classification_performance(held_out, tag_ids, threshold)

    def images(self, project_id: str, iteration_id: str, tag_ids: Sequence[str] = (), order: OrderBy = OrderBy.NEWEST,
               take: int = 50, skip: int = 0) -> list[ImagePerformance]:
        """The held-out images (those with a tag of `tag_ids`, when given), each with the iteration's predictions."""
        all_images = self._all_images(project_id, iteration_id, tag_ids)
        all_images.sort(key=lambda p: p.image.created, reverse=order is OrderBy.NEWEST)
        return all_images[skip:skip + take]

    def count_images(self, project_id: str, iteration_id: str, tag_ids: Sequence[str] = ()) -> int:
        return len(self._all_images(project_id, iteration_id, tag_ids))

    def _all_images(self, project_id: str, iteration_id: str, tag_ids: Sequence[str]) -> list[ImagePerformance]:
        from ..reports import DetectionPredictions

        view, held_out = self._held_out(project_id, iteration_id)
        ids = {name: tag_id for tag_id, name in view.iteration.tags}
        names = held_out.class_names
        rows: dict[str, list[TagPrediction]] = {}
        for row, uri in enumerate(held_out.image_names):
            image_id = uri.split("/images/", 1)[-1].split("/", 1)[0]
            if isinstance(held_out, DetectionPredictions):
                width, height = held_out.image_sizes[row]
                rows[image_id] = [
                    TagPrediction(float(score), ids.get(names[label], ""), names[label],
                                  (x1 / width, y1 / height, (x2 - x1) / width, (y2 - y1) / height))
                    for (x1, y1, x2, y2), label, score in zip(held_out.boxes[row].tolist(),
                                                              held_out.labels[row].tolist(),
                                                              held_out.scores[row].tolist())
                ]
            else:
                order = np.argsort(-held_out.scores[row], kind="stable")
                rows[image_id] = [TagPrediction(float(held_out.scores[row][c]), ids.get(names[c], ""), names[c])
                                  for c in order.tolist()]
        wanted = set(tag_ids)
        found = self._records.get_images(view.iteration.project_id, list(rows))
        return [ImagePerformance(image, rows[image.id]) for image in found
                if not wanted or wanted & ({t.tag_id for t in image.tags} | {r.tag_id for r in image.regions})]

    def _held_out(self, project_id: str, iteration_id: str):
        from ..reports import parse_predictions

        view = self._iterations.completed(project_id, iteration_id)
        artifact = view.model.artifact if view.model else None
        try:
            if not artifact:
                raise BlobNotFound(HELD_OUT_PREDICTIONS, "the iteration's model has no artifact")
            return view, parse_predictions(self._artifacts.read(artifact, HELD_OUT_PREDICTIONS))
        except BlobNotFound:
            raise CustomVisionError(ErrorCode.NOT_FOUND_ITERATION_PERFORMANCE,
                                    f"{view.iteration.name} has no held-out predictions to measure (it was trained "
                                    "before Tailor kept them): train the project again (forceTrain=true)") from None


def classification_performance(held_out: Predictions, tag_ids: dict[str, str], threshold: float
                               ) -> IterationPerformance:
    """A tag is predicted where its probability is at least `threshold`, as the portal's slider decides."""
    from sklearn.metrics import average_precision_score

    truth, decided = held_out.truth, held_out.scores >= threshold
    rows = []
    for c, name in enumerate(held_out.class_names):
        true_positive = int((truth[:, c] & decided[:, c]).sum())
        ap = float(average_precision_score(truth[:, c], held_out.scores[:, c])) if truth[:, c].any() else None
        rows.append(_tag(tag_ids.get(name, ""), name, true_positive, int(decided[:, c].sum()),
                         int(truth[:, c].sum()), ap))
    return _overall(rows, int((truth & decided).sum()), int(decided.sum()), int(truth.sum()))


def detection_performance(held_out: DetectionPredictions, tag_ids: dict[str, str], threshold: float, overlap: float
                          ) -> IterationPerformance:
    """A box is predicted where its probability is at least `threshold`; it is right where COCOeval matched it to a
    true box of its tag with IoU at least `overlap` (greedily, the most probable first)."""
    from ..reports import evaluate_detections

    evaluation = evaluate_detections(held_out, (overlap,))
    average_precision = evaluation.average_precision(overlap)
    classes = len(held_out.class_names)
    found, predicted = np.zeros(classes, dtype=np.int64), np.zeros(classes, dtype=np.int64)
    for image in range(held_out.count):
        kept = (held_out.scores[image] >= threshold) & evaluation.evaluated[image]
        labels = held_out.labels[image]
        matched = evaluation.detection_matches[image][0] >= 0
        predicted += np.bincount(labels[kept], minlength=classes)
        found += np.bincount(labels[kept & matched], minlength=classes)
    truth = held_out.true_counts
    rows = [_tag(tag_ids.get(name, ""), name, int(found[c]), int(predicted[c]), int(truth[c]),
                 None if math.isnan(average_precision[c]) else float(average_precision[c]))
            for c, name in enumerate(held_out.class_names)]
    return _overall(rows, int(found.sum()), int(predicted.sum()), int(truth.sum()))


def _tag(tag_id: str, name: str, right: int, predicted: int, true: int, ap: float | None) -> TagPerformance:
    precision, recall = _share(right, predicted), _share(right, true)
    return TagPerformance(tag_id, name, precision, _error(precision, predicted), recall, _error(recall, true), ap)


def _overall(rows: list[TagPerformance], right: int, predicted: int, true: int) -> IterationPerformance:
    precision, recall = _share(right, predicted), _share(right, true)
    known = [r.average_precision for r in rows if r.average_precision is not None]
    return IterationPerformance(rows, precision, _error(precision, predicted), recall, _error(recall, true),
                                float(np.mean(known)) if known else None)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _error(share: float, count: int) -> float:
    return math.sqrt(share * (1 - share) / count) if count else 0.0
