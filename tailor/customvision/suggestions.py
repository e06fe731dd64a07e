"""The Smart Labeler: a trained iteration's predictions on the project's images as suggested tags (and regions),
ranked by how unsure the model is, so that a person labels first what teaches the next iteration most. Also the
region proposals the portal draws from: the latest detector's boxes on one image.

Predictions run through the same prediction service as analyze; each (iteration, image) is predicted once and kept
in a bounded cache, since a labelling session asks about the same untagged images again and again."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..predictions import PredictionService
from .codes import DomainType, ErrorCode, IterationStatus, TaggingStatus
from .errors import CustomVisionError
from .images import ImageFile, image_key, image_not_found
from .iterations import IterationService, IterationView
from .predictions import ImagePrediction, to_custom_vision
from .projects import ProjectService
from .records import ImageQuery, StoredImage

if TYPE_CHECKING:
    from ..blobs import Storage
    from ..store import Store

MAX_IMAGES = 64  # image ids in one suggest_tags_and_regions call
MAX_SCANNED = 1000  # untagged images one query looks through (the newest first)
CACHE_SIZE = 20_000


@dataclass(frozen=True)
class Suggestion:
    image: StoredImage
    prediction: ImagePrediction
    uncertainty: float  # 0: the model is sure; 1: it cannot tell


@dataclass(frozen=True)
class SuggestionPage:
    results: list[Suggestion]
    continuation: str | None  # where the next page starts; None when this is the last


class SmartLabeler:
    def __init__(self, store: Store, projects: ProjectService, iterations: IterationService, storage: Storage,
                 service: PredictionService):
        self._records = store.projects
        self._projects = projects
        self._iterations = iterations
        self._storage = storage
        self._service = service
        self._cache: OrderedDict[tuple[str, str], ImagePrediction] = OrderedDict()
        self._lock = threading.Lock()

    async def suggest(self, project_id: str, iteration_id: str | None, image_ids: Sequence[str]) -> list[Suggestion]:
        if not iteration_id:
            raise CustomVisionError(ErrorCode.REQUIRED_PARAM_IS_NULL, "give iterationId: the trained iteration whose "
                                    "predictions become the suggestions")
        if not image_ids:
            raise CustomVisionError(ErrorCode.INVALID_IDS, "give imageIds: the images to suggest tags for")
        if len(image_ids) > MAX_IMAGES:
            raise CustomVisionError(ErrorCode.EXCEEDED_BATCH_SIZE,
                                    f"{len(image_ids)} image ids; at most {MAX_IMAGES} in one call")
        view = self._iterations.completed(project_id, iteration_id)
        images = self._records.get_images(view.iteration.project_id, list(dict.fromkeys(image_ids)))
        found = {image.id for image in images}
        missing = [i for i in image_ids if i not in found]
        if missing:
            raise image_not_found(missing[0])
        return [await self._suggestion(view, image) for image in images]

    async def query(self, project_id: str, iteration_id: str | None, tag_ids: Sequence[str], threshold: float,
                    max_count: int, continuation: str | None, most_uncertain_first: bool) -> SuggestionPage:
        """Untagged images whose suggestions name one of `tag_ids` (any tag when none) at `threshold` or more,
        sorted by uncertainty; `continuation` is the previous page's."""
        view = self._iterations.completed(project_id, iteration_id)
        start = continuation_offset(continuation)
        matching = await self._matching(view, tag_ids, threshold)
        matching.sort(key=lambda s: s.uncertainty, reverse=most_uncertain_first)
        page = matching[start:start + max_count]
        following = start + max_count
        return SuggestionPage(page, str(following) if following < len(matching) else None)

    async def count(self, project_id: str, iteration_id: str | None, tag_ids: Sequence[str],
                    threshold: float) -> dict[str, int]:
        """Per tag, the untagged images whose suggestions name it at `threshold` or more."""
        view = self._iterations.completed(project_id, iteration_id)
        wanted = list(tag_ids) or [tag_id for tag_id, _ in view.iteration.tags]
        counts = dict.fromkeys(wanted, 0)
        for suggestion in await self._matching(view, wanted, threshold):
            for tag_id in {p.tag_id for p in suggestion.prediction.predictions if p.probability >= threshold}:
                if tag_id in counts:
                    counts[tag_id] += 1
        return counts

    async def proposals(self, project_id: str, image_id: str) -> list[tuple[float, tuple[float, float, float, float]]]:
        """(confidence, box) of the latest trained detector on the image; none before a detector is trained."""
        project = self._projects.get(project_id)
        images = self._records.get_images(project.id, [image_id])
        if not images:
            raise image_not_found(image_id)
        if project.domain.type is not DomainType.OBJECT_DETECTION:
            raise CustomVisionError(ErrorCode.BAD_REQUEST, "region proposals are for object detection projects")
        done = [v for v in self._iterations.list(project.id) if v.status is IterationStatus.COMPLETED]
        if not done:
            return []
        suggestion = await self._suggestion(done[-1], images[0])
        return [(p.probability, p.box) for p in suggestion.prediction.predictions if p.box is not None]

    async def _matching(self, view: IterationView, tag_ids: Sequence[str], threshold: float) -> list[Suggestion]:
        untagged = self._records.query_images(view.iteration.project_id,
                                              ImageQuery(TaggingStatus.UNTAGGED, take=MAX_SCANNED))
        wanted = set(tag_ids)
        matching = []
        for image in untagged:
            suggestion = await self._suggestion(view, image)
            if any(p.probability >= threshold and (not wanted or p.tag_id in wanted)
                   for p in suggestion.prediction.predictions):
                matching.append(suggestion)
        return matching

    async def _suggestion(self, view: IterationView, image: StoredImage) -> Suggestion:
        key = (view.iteration.id, image.id)
        with self._lock:
            known = self._cache.get(key)
            if known is not None:
                self._cache.move_to_end(key)
        if known is None:
            data = self._storage.get(image_key(image.project_id, image.id, ImageFile.ORIGINAL, image.format))
            found = await self._service.analyze(view.iteration.model_name, data)
            known = to_custom_vision(found, view.iteration, image.id)
            with self._lock:
                self._cache[key] = known
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return Suggestion(image, known, uncertainty(known))


def uncertainty(prediction: ImagePrediction) -> float:
    """How unsure the model is: 1 less its most probable answer (a detector: its least sure box above the floor),
    so that an image it can hardly call comes first."""
    probabilities = [p.probability for p in prediction.predictions]
    if not probabilities:
        return 1.0
    if any(p.box is not None for p in prediction.predictions):
        return 1.0 - min(probabilities)
    return 1.0 - max(probabilities)


def continuation_offset(continuation: str | None) -> int:
    """Where a page starts: the `continuation` token this service gave with the previous page (none: the first)."""
    if not continuation:
        return 0
    if not continuation.isdigit():
        raise CustomVisionError(ErrorCode.BAD_REQUEST, "continuation is not one this service gave: send the "
                                "previous page's token, or none for the first page")
    return int(continuation)
