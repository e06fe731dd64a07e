"""Predictions of a published iteration (the Prediction API) and quick tests of any trained one: the same
prediction service as analyze (its model cache, batching and image limits), answered in Custom Vision's shape
(every tag with its probability; boxes as fractions of the image)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import anyio.to_thread

from ..errors import BlobError, BlobTooLarge
from ..predictions import ImageProblem, ImageRejected, ImageUrl, Prediction, PredictionService
from .codes import DomainType, ErrorCode
from .errors import CustomVisionError
from .iterations import IterationService, IterationView
from .records import Iteration

if TYPE_CHECKING:
    from .projects import ProjectService

_CODES = {ImageProblem.FORMAT: ErrorCode.IMAGE_FORMAT, ImageProblem.SIZE: ErrorCode.IMAGE_SIZE_BYTES,
          ImageProblem.DIMENSION: ErrorCode.IMAGE_DIMENSIONS, ImageProblem.URL: ErrorCode.IMAGE_URL}


@dataclass(frozen=True)
class TagPrediction:
    probability: float
    tag_id: str
    tag_name: str
    box: tuple[float, float, float, float] | None = None  # left, top, width, height: fractions of the image


@dataclass(frozen=True)
class ImagePrediction:
    id: str
    project_id: str
    iteration_id: str
    created: datetime
    predictions: list[TagPrediction]


class Keeper(Protocol):
    def keep(self, data: bytes, prediction: ImagePrediction, application: str | None = None) -> None: ...


class CustomVisionPredictions:
    def __init__(self, projects: ProjectService, iterations: IterationService, service: PredictionService,
                 read_url: Callable[[str, int], bytes], keeper: Keeper):
        """`read_url(url, max_bytes)` reads an image URL through the blob layer, for a prediction to keep;
        `keeper` keeps predictions with their images (tailor.customvision.stored)."""
        self._projects = projects
        self._iterations = iterations
        self._service = service
        self._read_url = read_url
        self._keeper = keeper

    async def published(self, project_id: str, publish_name: str, image: bytes | ImageUrl, kind: DomainType,
                        store: bool = True, application: str | None = None) -> ImagePrediction:
        """classify_image* (kind Classification) and detect_image* (ObjectDetection) on a published iteration;
        kept with its image unless `store` is False (the `nostore` calls)."""
        project = self._projects.get(project_id)
        if project.domain.type is not kind:
            call = "detect_image" if project.domain.type is DomainType.OBJECT_DETECTION else "classify_image"
            raise CustomVisionError(ErrorCode.BAD_REQUEST, f"project {project.name!r} is a "
                                    f"{project.domain.type.value} project: call {call} instead")
        view = self._iterations.published(project.id, publish_name)
        return await self._predict(view, image, store, application)

    async def quick_test(self, project_id: str, iteration_id: str | None, image: bytes | ImageUrl,
                         store: bool = True) -> ImagePrediction:
        return await self._predict(self._iterations.completed(project_id, iteration_id), image, store, None)

    async def _predict(self, view: IterationView, image: bytes | ImageUrl, store: bool,
                       application: str | None) -> ImagePrediction:
        iteration = view.iteration
        if store and isinstance(image, ImageUrl):
            image = await anyio.to_thread.run_sync(self._fetch, image.url)  # the bytes are kept too
        try:
            found = await self._service.analyze(iteration.model_name, image)
        except ImageRejected as rejected:
            raise CustomVisionError(_CODES[rejected.problem], str(rejected)) from None
        prediction = to_custom_vision(found, iteration)
        if store and isinstance(image, bytes):
            await anyio.to_thread.run_sync(self._keeper.keep, image, prediction, application)
        return prediction

    def _fetch(self, url: str) -> bytes:
        limit = self._service.limits.max_bytes
        try:
            return self._read_url(url, limit)
        except BlobTooLarge:
            raise CustomVisionError(ErrorCode.IMAGE_SIZE_BYTES, f"the image at the url is over the "
                                    f"{limit // (1024 * 1024)} MB limit: send a smaller image") from None
        except BlobError as exc:
            raise CustomVisionError(ErrorCode.IMAGE_URL, f"the url cannot be read: {exc}") from None


def to_custom_vision(found: Prediction, iteration: Iteration, prediction_id: str | None = None) -> ImagePrediction:
    """Analyze's answer as Custom Vision's: tags by the ids the iteration was trained with, boxes as fractions."""
    ids = {name: tag_id for tag_id, name in iteration.tags}
    if found.objects is not None:
        width, height = found.width, found.height
        predictions = [
            TagPrediction(o.tags[0].confidence, ids.get(o.tags[0].name, ""), o.tags[0].name,
                          (o.box[0] / width, o.box[1] / height, o.box[2] / width, o.box[3] / height))
            for o in found.objects
        ]
    else:
        predictions = [TagPrediction(t.confidence, ids.get(t.name, ""), t.name) for t in found.tags or []]
    return ImagePrediction(prediction_id or str(uuid.uuid4()), iteration.project_id, iteration.id,
                           datetime.now(UTC), predictions)
