"""The model cache with a loader that counts and can be slowed: LRU by count and by bytes, one load per model under
concurrent first requests, drops, and failed loads."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tailor.predictions import ModelCache, ModelKey
from tailor.predictions.cache import Loaded


class Loader:
    def __init__(self, nbytes: int = 10, delay: float = 0.0, fail: set[str] | None = None):
        self.calls: list[str] = []
        self.nbytes, self.delay, self.fail = nbytes, delay, fail or set()
        self._lock = threading.Lock()

    def __call__(self, model: ModelKey) -> Loaded[str]:
        artifact = model.artifact
        with self._lock:
            self.calls.append(artifact)
        time.sleep(self.delay)
        if artifact in self.fail:
            raise OSError(f"cannot read {artifact}")
        return Loaded(f"model from {artifact}", self.nbytes)


def key(name: str, version: str = "1") -> ModelKey:
    return ModelKey(name, f"/models/{name}/{version}", version)


def test_loaded_once_and_least_recently_used_dropped_first() -> None:
    loader = Loader()
    cache = ModelCache(loader, max_models=2, max_bytes=10**9)
    assert cache.get(key("a")) == "model from /models/a/1"
    cache.get(key("b"))
    cache.get(key("a"))  # a is now the most recently used
    cache.get(key("c"))
    assert cache.names() == ["a", "c"] and loader.calls == ["/models/a/1", "/models/b/1", "/models/c/1"]


def test_the_memory_bound_evicts_but_keeps_the_newest() -> None:
    cache = ModelCache(Loader(nbytes=400), max_models=10, max_bytes=1000)
    for name in "abc":
        cache.get(key(name))
    assert cache.names() == ["b", "c"] and cache.nbytes == 800
    big = ModelCache(Loader(nbytes=5000), max_models=10, max_bytes=1000)
    big.get(key("huge"))
    assert big.names() == ["huge"]  # bigger than the bound alone: still served


def test_concurrent_first_requests_load_once() -> None:
    loader = Loader(delay=0.3)
    cache = ModelCache(loader, max_models=4, max_bytes=10**9)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: cache.get(key("a")), range(8)))
    assert results == ["model from /models/a/1"] * 8
    assert loader.calls == ["/models/a/1"] and cache.loads == 1


def test_loads_of_different_models_do_not_wait_for_each_other() -> None:
    cache = ModelCache(Loader(delay=0.4), max_models=4, max_bytes=10**9)
    start = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda name: cache.get(key(name)), ["a", "b"]))
    assert time.monotonic() - start < 0.75


def test_a_new_version_replaces_the_old_and_drop_forgets() -> None:
    loader = Loader()
    cache = ModelCache(loader, max_models=4, max_bytes=10**9)
    cache.get(key("a", "1"))
    assert cache.get(key("a", "2")) == "model from /models/a/2"
    assert key("a", "2") in cache and key("a", "1") not in cache
    cache.drop("a")
    assert cache.names() == []
    cache.get(key("a", "2"))
    assert loader.calls.count("/models/a/2") == 2


def test_a_drop_during_the_load_keeps_the_result_out_of_the_cache() -> None:
    cache = ModelCache(Loader(delay=0.3), max_models=4, max_bytes=10**9)
    thread = threading.Thread(target=cache.get, args=(key("a"),))
    thread.start()
    time.sleep(0.1)
    cache.drop("a")
    thread.join()
    assert cache.names() == []


def test_a_failed_load_reaches_every_waiter_and_is_tried_again() -> None:
    loader = Loader(delay=0.2, fail={"/models/a/1"})
    cache = ModelCache(loader, max_models=4, max_bytes=10**9)
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(cache.get, key("a")) for _ in range(4)]
    for future in futures:
        with pytest.raises(OSError, match="cannot read"):
            future.result()
    assert len(loader.calls) == 1
    loader.fail.clear()
    assert cache.get(key("a")) == "model from /models/a/1" and len(loader.calls) == 2


def test_preload_loads_the_first_ones_with_the_first_most_recent() -> None:
    loader = Loader(fail={"/models/bad/1"})
    cache = ModelCache(loader, max_models=2, max_bytes=10**9)
    cache.preload([key("a"), key("bad"), key("c")])  # only as many as fit; a failure is logged, not raised
    assert cache.names() == ["a"] and "/models/c/1" not in loader.calls
    assert (cache.hits, cache.misses) == (0, 0)  # the counts are requests': a preload is none
    cache.preload([key("a")])
    assert (cache.hits, cache.misses) == (0, 0)


def test_loaded_answers_only_what_is_loaded_and_never_loads() -> None:
    loader = Loader()
    cache = ModelCache(loader, max_models=2, max_bytes=10**9)
    assert cache.loaded(key("a")) is None and loader.calls == []  # not loaded: no load started either
    cache.get(key("a"))
    assert cache.loaded(key("a")) == "model from /models/a/1"
    assert cache.loaded(key("a", version="2")) is None  # another version under the name: not this one
    cache.get(key("b"))
    cache.get(key("c"))  # "a" is the least recently used: dropped
    assert cache.loaded(key("a")) is None and loader.calls == ["/models/a/1", "/models/b/1", "/models/c/1"]
