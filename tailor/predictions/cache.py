"""Loaded models, kept for the next request: least recently used dropped first, bounded in count and in memory.

A model is loaded once: the first request for it loads it while the others that arrive meanwhile wait for that same
load (one lock per model; loads of different models do not wait for each other). An entry is tied to one version
of a model (its artifact and creation time), so a model deleted and created again under the same name is
loaded afresh, never served from the old weights.

    cache = ModelCache(load, max_models=8, max_bytes=2 << 30)
    predictor = cache.get(ModelKey("fruit", "models/fruit/attempt-1-3f2a9c1d", created))
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class ModelKey:
    name: str
    artifact: str  # the model's artifact (tailor.blobs.ArtifactStore)
    version: str  # changes when the model under this name is another one (its creation time)


@dataclass(frozen=True)
class Loaded(Generic[T]):
    value: T
    nbytes: int  # what it holds in memory, as the loader estimates it


@dataclass
class _Loading(Generic[T]):
    key: ModelKey
    future: Future[T]
    dropped: bool = False


class ModelCache(Generic[T]):
    """Thread-safe. `load(key)` builds the value and says how many bytes it holds."""

    def __init__(self, load: Callable[[ModelKey], Loaded[T]], *, max_models: int, max_bytes: int):
        self._load = load
        self._max_models = max_models
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[ModelKey, Loaded[T]]] = OrderedDict()
        self._loading: dict[str, _Loading[T]] = {}
        self.loads = 0  # loads started, for the tests and the log
        self.hits = 0  # gets answered from a loaded model (/metrics)
        self.misses = 0  # gets that loaded the model, or waited for its load

    def get(self, key: ModelKey, *, counted: bool = True) -> T:
        """The loaded model, loading it first when needed (once, however many threads ask at the same time).
        A failed load raises its error to every caller waiting for it, and is tried again by the next request.
        `counted=False` leaves the hit and miss counts alone: they count requests, not preloads."""
        with self._lock:
            found = self._hit(key, counted)
            if found is not None:
                return found[1].value
            self.misses += counted
            loading = self._loading.get(key.name)
            owner = loading is None or loading.key != key
            if owner:
                loading = _Loading(key, Future())
                self._loading[key.name] = loading
                self.loads += 1
        assert loading is not None
        if not owner:
            return loading.future.result()
        return self._load_as_owner(loading)

    def loaded(self, key: ModelKey) -> T | None:
        """The model if it is loaded now, else None: never loads (so never blocks), for the event loop."""
        with self._lock:
            found = self._hit(key, counted=True)
            return None if found is None else found[1].value

    def _hit(self, key: ModelKey, counted: bool) -> tuple[ModelKey, Loaded[T]] | None:
        """Under the lock: the entry of this very key (name and version), made the most recently used, or None."""
        found = self._entries.get(key.name)
        if found is None or found[0] != key:
            return None
        self._entries.move_to_end(key.name)
        self.hits += counted
        return found

    def _load_as_owner(self, loading: _Loading[T]) -> T:
        key = loading.key
        try:
            loaded = self._load(key)
        except BaseException as exc:
            with self._lock:
                if self._loading.get(key.name) is loading:
                    del self._loading[key.name]
            loading.future.set_exception(exc)
            raise
        with self._lock:
            if self._loading.get(key.name) is loading:
                del self._loading[key.name]
            if not loading.dropped:
                self._entries[key.name] = (key, loaded)
                self._entries.move_to_end(key.name)
                self._evict()
        log.info("model %s loaded (%.1f MB)", key.name, loaded.nbytes / 1e6)
        loading.future.set_result(loaded.value)
        return loaded.value

    def _evict(self) -> None:
        """Least recently used first, until both bounds hold; the newest entry always stays (a model bigger than the
        memory bound is still served, alone)."""
        while len(self._entries) > 1 and (
            len(self._entries) > self._max_models or self.nbytes > self._max_bytes
        ):
            name, (_, loaded) = self._entries.popitem(last=False)
            log.info("model %s dropped from the cache (%.1f MB)", name, loaded.nbytes / 1e6)

    def drop(self, name: str) -> None:
        """Forget a model (deleted, or replaced): requests in flight finish with what they hold."""
        with self._lock:
            self._entries.pop(name, None)
            loading = self._loading.pop(name, None)
            if loading is not None:
                loading.dropped = True

    def preload(self, keys: Iterable[ModelKey]) -> None:
        """Load these models now (most important first in `keys`, which ends most recently used), as many as the
        count bound allows; failures are logged only."""
        for key in reversed(list(keys)[: self._max_models]):
            try:
                self.get(key, counted=False)
            except Exception:
                log.warning("model %s could not be preloaded", key.name, exc_info=True)

    def names(self) -> list[str]:
        """Loaded models, least recently used first."""
        with self._lock:
            return list(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return isinstance(key, ModelKey) and self._entries.get(key.name, (None,))[0] == key

    @property
    def nbytes(self) -> int:
        return sum(loaded.nbytes for _, loaded in self._entries.values())
