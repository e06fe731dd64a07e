"""Analyze: one call from the route (`PredictionService.analyze`), and what keeps it fast from the first call: the
model cache, the batcher, and a keeper thread that preloads models as their training succeeds, forgets deleted
ones, and records which models are used so that a restart preloads the most used.

    predictions = PredictionService(store, policy, artifacts, PredictionConfig.from_settings(settings))
    predictions.start()                      # preloads the most recently used models, starts the threads
    prediction = await predictions.analyze("fruit-v1", body)      # bytes, or ImageUrl("https://...")
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import anyio.to_thread

from ..automl.images import DETECTION_KEEP_SIDE
from ..blobs import ArtifactStore, BlobPolicy, BlobReader
from ..datasets import check_name
from ..enums import ModelStatus, Runtime
from ..errors import BlobError, BlobTooLarge
from ..models import Model, ModelNotReady
from .batcher import Batcher
from .cache import ModelCache, ModelKey
from .images import DecodedImage, ImageLimits, ImageProblem, ImageRejected, decode
from .loader import Exports, ModelLoader

if TYPE_CHECKING:
    from ..automl.predictor import Predictor
    from ..settings import Settings
    from ..store import Store

log = logging.getLogger(__name__)
KEEPER_POLL_S = 1.0  # how often the keeper looks for newly succeeded or deleted models and writes usage


@dataclass(frozen=True)
class ImageUrl:
    url: str


@dataclass(frozen=True)
class Tag:
    name: str
    confidence: float


@dataclass(frozen=True)
class DetectedObject:
    box: tuple[int, int, int, int]  # x, y, w, h: integer pixels of the input image as displayed
    tags: list[Tag]  # the detected class and its confidence


@dataclass(frozen=True)
class Prediction:
    width: int
    height: int
    tags: list[Tag] | None = None  # a classifier's: every class, highest confidence first
    objects: list[DetectedObject] | None = None  # a detector's: highest confidence first


@dataclass(frozen=True)
class PredictionConfig:
    cache_models: int = 8
    cache_bytes: int = 2 << 30
    preload: int = 4
    batch_size: int = 8
    batch_wait_s: float = 0.005
    threads: int | None = None  # torch's and ONNX Runtime's; None: the CPUs this process may use
    runtime: Runtime = Runtime.AUTO  # TAILOR_RUNTIME (loader.ModelLoader)
    runtime_choices: Path | None = None  # where `auto` remembers what it measured
    devices: tuple[str, ...] = ()  # TAILOR_DEVICES: models run on the first (automl.devices.serving_device)
    fetch_timeout_s: float = 10.0
    limits: ImageLimits = ImageLimits()

    @classmethod
    def from_settings(cls, settings: Settings) -> PredictionConfig:
        return cls(
            cache_models=settings.model_cache_size,
            cache_bytes=settings.model_cache_mb * 1024 * 1024,
            preload=settings.preload_models,
            batch_size=settings.analyze_batch_size,
            batch_wait_s=settings.analyze_batch_wait_ms / 1000,
            threads=settings.inference_threads,
            runtime=settings.runtime,
            runtime_choices=settings.data_dir / "cache" / "runtimes.json",
            devices=tuple(settings.devices),
            fetch_timeout_s=settings.analyze_fetch_timeout_s,
            limits=ImageLimits(max_pixels=int(settings.max_image_megapixels * 1_000_000)),
        )


class PredictionService:
    def __init__(
        self, store: Store, policy: BlobPolicy, artifacts: ArtifactStore, config: PredictionConfig = PredictionConfig(),
        exports: Exports | None = None,
    ):
        """A model is loaded from this host's checked copy of its artifact (`artifacts`), fetched once, or from its
        ONNX export (`exports`, tailor.exports.ExportService.onnx_of; None: every model runs on torch)."""
        self._store = store
        self._config = config
        # An analyze url is read like any user URL (address guard included), but with a short timeout, no retries
        # and no local paths: a caller waits for the answer.
        self._reader = BlobReader(replace(policy, data_roots=(), timeout_s=config.fetch_timeout_s, retries=0))
        self.loader = ModelLoader(config.runtime, config.threads or usable_cpus(), config.devices, artifacts,
                                  exports, config.runtime_choices)
        self.cache: ModelCache[Predictor] = ModelCache(self.loader, max_models=config.cache_models,
                                                       max_bytes=config.cache_bytes)
        self.batcher: Batcher[Predictor, bytes, Any] = Batcher(
            self._decode_and_predict, max_batch=config.batch_size, max_wait_s=config.batch_wait_s
        )
        # Images are decoded on the inference thread's turn, two at a time, just before their batch: decoding in
        # the request threads instead ran alongside inference and stalled torch's threads (a third of the
        # throughput lost on 2 cores).
        self._decoders = ThreadPoolExecutor(2, thread_name_prefix="tailor-decode")
        self._used: dict[str, datetime] = {}
        self._used_lock = threading.Lock()
        self._known: dict[str, Model] = {}  # succeeded models looked up by a request (`_submit_known`)
        self._keeper = _Keeper(self)

    @property
    def limits(self) -> ImageLimits:
        return self._config.limits

    # Life cycle ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Preload the most recently used models (before the first request is taken), then start the threads."""
        if self._config.preload:
            self.cache.preload(_key(m) for m in self._store.models.recently_used(self._config.preload))
        self.batcher.start()
        self._keeper.start()

    def stop(self) -> None:
        self._keeper.stop()
        self.batcher.stop()
        self._decoders.shutdown()
        self.flush_usage()

    # Analyze -------------------------------------------------------------------------------------------------

    async def analyze(self, model_name: str, image: bytes | ImageUrl) -> Prediction:
        """Run the model on one image. NotFound (404), ModelNotReady (409) or ImageRejected (400); nothing changes
        on failure."""
        submitted = self._submit_known(model_name, image)
        predictor, future = submitted or await anyio.to_thread.run_sync(self._submit, model_name, image)
        outcome = await asyncio.wrap_future(future)
        if isinstance(outcome, ImageRejected):
            raise outcome
        decoded, found = outcome
        if isinstance(found, dict):
            return Prediction(decoded.width, decoded.height, objects=_objects(found, decoded, predictor.class_names))
        order = sorted(range(len(found)), key=lambda k: -found[k])
        tags = [Tag(predictor.class_names[k], float(found[k])) for k in order]
        return Prediction(decoded.width, decoded.height, tags=tags)

    def _submit_known(self, model_name: str, image: bytes | ImageUrl):
        """On the event loop, without a thread: an image's bytes for a model that succeeded and is loaded (nothing
        here blocks). None for the rest, which `_submit` handles in a worker thread. A succeeded model can only be
        deleted, which `forget` (this process) or the keeper (another replica, within KEEPER_POLL_S) sees."""
        model = self._known.get(model_name)
        predictor = None if model is None or isinstance(image, ImageUrl) else self.cache.loaded(_key(model))
        if model is None or predictor is None:  # (model too: for the type checker)
            return None
        future = self.batcher.submit(predictor, cast(bytes, image))  # an ImageUrl has no predictor here
        with self._used_lock:
            self._used[model.name] = datetime.now(UTC)
        return predictor, future

    def _submit(self, model_name: str, image: bytes | ImageUrl):
        model = self._store.models.get(check_name(model_name, "model"))
        if model.status is not ModelStatus.SUCCEEDED or not model.artifact:
            raise ModelNotReady(model.name, model.status)
        self._known[model.name] = model
        data = self._fetch(image.url) if isinstance(image, ImageUrl) else image
        with self.batcher.arriving():
            predictor = self.cache.get(_key(model))
            future = self.batcher.submit(predictor, data)
        with self._used_lock:
            self._used[model.name] = datetime.now(UTC)
        return predictor, future

    def _decode_and_predict(self, predictor: Any, bodies: list[bytes]) -> list[Any]:
        """Per image, (DecodedImage, probabilities or a detector's findings), or the ImageRejected that its own
        request answers with."""
        detector = hasattr(predictor, "detect")
        keep_side = DETECTION_KEEP_SIDE if detector else predictor.keep_side
        if len(bodies) == 1:  # a lone request: decoded here, without a hop to the decoders and back
            decoded = [self._decode(bodies[0], keep_side)]
        else:
            decoded = list(self._decoders.map(lambda body: self._decode(body, keep_side), bodies))
        images = [d.image for d in decoded if isinstance(d, DecodedImage)]
        results = (predictor.detect(images) if detector else predictor.probabilities(images)) if images else []
        rows = iter(results)
        return [d if isinstance(d, ImageRejected) else (d, next(rows)) for d in decoded]

    def _decode(self, data: bytes, keep_side: int) -> DecodedImage | ImageRejected:
        try:
            return decode(data, self._config.limits, keep_side)
        except ImageRejected as rejected:
            return rejected

    def _fetch(self, url: str) -> bytes:
        if not url.lower().startswith(("http://", "https://")):
            raise ImageRejected(ImageProblem.URL, f"url must be an http(s) URL, got {url[:100]!r}", target="url")
        try:
            return self._reader.read(url, max_bytes=self._config.limits.max_bytes)
        except BlobTooLarge as exc:
            raise ImageRejected(
                ImageProblem.SIZE,
                f"the image at the url is over the {self._config.limits.max_bytes // (1024 * 1024)} MB limit of "
                f"analyze ({exc.reason})",
                target="url",
            ) from None
        except BlobError as exc:
            raise ImageRejected(ImageProblem.URL, f"the url cannot be read: {exc}", target="url") from None

    # Model life cycle ------------------------------------------------------------------------------------------

    def forget(self, model_name: str) -> None:
        """The model was deleted (or replaced): its weights leave the cache."""
        self._known.pop(model_name, None)
        self.cache.drop(model_name)
        with self._used_lock:
            self._used.pop(model_name, None)

    def flush_usage(self) -> None:
        with self._used_lock:
            used, self._used = self._used, {}
        try:
            self._store.models.record_use(used)
        except Exception:
            log.warning("model usage could not be recorded", exc_info=True)


def _objects(found: dict[str, Any], decoded: DecodedImage, class_names: tuple[str, ...]) -> list[DetectedObject]:
    """The detector's boxes (pixels of the decoded image, which may be smaller) as integer boxes of the input."""
    scale_x, scale_y = decoded.width / decoded.image.width, decoded.height / decoded.image.height
    objects = []
    for (x1, y1, x2, y2), label, score in zip(found["boxes"].tolist(), found["labels"].tolist(),
                                              found["scores"].tolist()):
        left, top = max(0, round(x1 * scale_x)), max(0, round(y1 * scale_y))
        right, bottom = min(decoded.width, round(x2 * scale_x)), min(decoded.height, round(y2 * scale_y))
        objects.append(DetectedObject((left, top, max(0, right - left), max(0, bottom - top)),
                                      [Tag(class_names[label], float(score))]))
    return sorted(objects, key=lambda o: -o.tags[0].confidence)


def _key(model: Model) -> ModelKey:
    return ModelKey(model.name, str(model.artifact), model.created.isoformat())


class _Keeper:
    """A thread that, every KEEPER_POLL_S: preloads models whose training succeeded since the last look (whoever
    trained them: the embedded runner or a worker elsewhere), drops models that were deleted (by this process or
    another replica), and writes the last-used times."""

    def __init__(self, service: PredictionService):
        self._service = service
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tailor-model-keeper", daemon=True)
        self._seen: datetime | None = None

    def start(self) -> None:
        ready = self._service._store.models.updated_since(ModelStatus.SUCCEEDED, None)
        self._seen = max((m.updated for m in ready), default=datetime.fromtimestamp(0, UTC))
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.wait(KEEPER_POLL_S):
            try:
                self.look()
            except Exception:  # the database may be briefly unreachable: look again next time
                log.warning("the model keeper could not look at the store", exc_info=True)

    def look(self) -> None:
        service, store = self._service, self._service._store
        service.flush_usage()
        succeeded = store.models.updated_since(ModelStatus.SUCCEEDED, self._seen)
        if succeeded:
            self._seen = max(m.updated for m in succeeded)
            service.cache.preload(_key(m) for m in reversed(succeeded))  # the newest ends most recently used
        present = set(store.models.names_in([ModelStatus.SUCCEEDED]))
        for name in {*service.cache.names(), *list(service._known)}:
            if name not in present:
                service.forget(name)


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity, bounded by a cgroup CPU quota when there is one."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, count)
