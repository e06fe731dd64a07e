"""Predictions Tailor keeps with their images: quick tests with `store` and the Prediction API's calls that are not
`nostore`. The portal lists them (`query_predictions`) and adds the ones worth learning from to training
(`create_images_from_predictions`), as Custom Vision's Predictions tab did. Kept until deleted (Azure kept 30 days).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..errors import BlobError, BlobNotFound
from ..predictions.images import ImageLimits
from .codes import ErrorCode
from .errors import CustomVisionError
from .images import (
    CONTENT_TYPES,
    MAX_BATCH,
    MAX_IMAGE_BYTES,
    BoxIn,
    ImageFile,
    ImageIn,
    ImageOut,
    ImageService,
    image_key,
    picture,
)
from .predictions import ImagePrediction
from .projects import ProjectService
from .records import StoredPrediction
from .suggestions import continuation_offset

if TYPE_CHECKING:
    from ..blobs import Storage
    from ..store import Store

log = logging.getLogger(__name__)
FOLDER = "predictions"  # projects/<id>/predictions/<prediction id>/...


@dataclass(frozen=True)
class TagRange:
    """Predictions whose probability for the tag lies in [low, high]."""

    tag_id: str
    low: float = 0.0
    high: float = 1.0


@dataclass(frozen=True)
class PredictionQuery:
    iteration_id: str | None = None
    tags: tuple[TagRange, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    application: str | None = None
    newest_first: bool = True
    max_count: int = 50
    continuation: str | None = None


@dataclass(frozen=True)
class PredictionPage:
    results: list[StoredPrediction]
    continuation: str | None


class StoredPredictions:
    def __init__(self, store: Store, projects: ProjectService, images: ImageService, storage: Storage):
        self._records = store.projects
        self._projects = projects
        self._images = images
        self._storage = storage
        self._limits = ImageLimits(max_bytes=MAX_IMAGE_BYTES)

    def keep(self, data: bytes, prediction: ImagePrediction, application: str | None = None) -> None:
        """Store the image and what was predicted for it. A failure here is logged: the caller has its answer."""
        try:
            taken = picture(data, self._limits)
            for which, (body, content_type) in taken.files.items():
                self._storage.put(image_key(prediction.project_id, prediction.id, which, taken.extension, FOLDER),
                                  body, content_type)
            self._records.insert_prediction(StoredPrediction(
                prediction.id, prediction.project_id, prediction.iteration_id, prediction.created, taken.width,
                taken.height, taken.extension, application,
                tuple((p.probability, p.tag_id, p.tag_name, p.box) for p in prediction.predictions),
            ))
        except Exception:  # the prediction itself succeeded; keeping it is a courtesy
            log.warning("prediction %s of project %s could not be kept", prediction.id, prediction.project_id,
                        exc_info=True)

    def query(self, project_id: str, query: PredictionQuery) -> PredictionPage:
        project = self._projects.get(project_id)
        if not 1 <= query.max_count <= 256:
            raise CustomVisionError(ErrorCode.BAD_REQUEST, f"maxCount is {query.max_count}; give 1 to 256")
        start = continuation_offset(query.continuation)
        found = self._records.query_predictions(project.id, query.iteration_id, query.since, query.until,
                                                query.application, query.newest_first)
        if query.tags:
            found = [p for p in found if all(_within(p, r) for r in query.tags)]
        page = found[start:start + query.max_count]
        following = start + query.max_count
        return PredictionPage(page, str(following) if following < len(found) else None)

    def delete(self, project_id: str, prediction_ids: Sequence[str]) -> None:
        project = self._projects.get(project_id)
        if not prediction_ids:
            raise CustomVisionError(ErrorCode.INVALID_IDS, "give ids: the predictions to delete")
        for gone in self._records.delete_predictions(project.id, list(prediction_ids)):
            try:
                self._storage.delete_prefix(f"projects/{project.id}/{FOLDER}/{gone.id}/")
            except BlobError:
                log.warning("the files of prediction %s could not be deleted", gone.id, exc_info=True)

    def file(self, project_id: str, prediction_id: str, which: ImageFile) -> tuple[bytes, str]:
        project = self._projects.get(project_id)
        found = self._records.get_predictions(project.id, [prediction_id])
        if not found:
            raise _not_found(prediction_id)
        kept = found[0]
        try:
            data = self._storage.get(image_key(project.id, kept.id, which, kept.format, FOLDER))
        except BlobNotFound:
            raise _not_found(prediction_id) from None
        return data, CONTENT_TYPES[kept.format] if which is ImageFile.ORIGINAL else "image/jpeg"

    def to_training(self, project_id: str, entries: Sequence[tuple[str, tuple[str, ...], tuple[BoxIn, ...]]],
                    batch_tag_ids: Sequence[str] = (), metadata: dict[str, str] | None = None) -> list[ImageOut]:
        """create_images_from_predictions: each (prediction id, tag ids, regions) becomes a training image."""
        project = self._projects.get(project_id)
        if len(entries) > MAX_BATCH:
            raise CustomVisionError(ErrorCode.EXCEEDED_BATCH_SIZE,
                                    f"the batch has {len(entries)} images; send at most {MAX_BATCH} in one call")
        kept = {p.id: p for p in self._records.get_predictions(project.id, [e[0] for e in entries])}
        images = []
        for prediction_id, tag_ids, regions in entries:
            if prediction_id not in kept:
                raise _not_found(prediction_id)
            data = self._storage.get(image_key(project.id, prediction_id, ImageFile.ORIGINAL,
                                               kept[prediction_id].format, FOLDER))
            images.append(ImageIn(data=data, name=prediction_id, tag_ids=tag_ids, regions=regions))
        return self._images.add(project.id, images, batch_tag_ids, metadata)


def _within(prediction: StoredPrediction, wanted: TagRange) -> bool:
    return any(tag_id == wanted.tag_id and wanted.low <= p <= wanted.high
               for p, tag_id, _, _ in prediction.predictions)


def _not_found(prediction_id: str) -> CustomVisionError:
    return CustomVisionError(ErrorCode.NOT_FOUND, f"there is no stored prediction with id {prediction_id!r} in this "
                             "project; query_predictions lists them")
