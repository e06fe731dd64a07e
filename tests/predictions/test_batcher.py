"""The micro-batcher on real threads: a lone request runs at once, requests that arrive together share a batch
(bounded), models are never mixed in one batch, and a failure reaches every request of its batch."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tailor.predictions.batcher import Batcher


class Model:
    def __init__(self, name: str, delay: float = 0.0, fail: bool = False):
        self.name, self.delay, self.fail = name, delay, fail
        self.batches: list[list[int]] = []

    def run(self, items: list[int]) -> list[str]:
        self.batches.append(list(items))
        time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("the model broke")
        return [f"{self.name}:{x}" for x in items]


@pytest.fixture
def batcher() -> Iterator[Batcher]:
    batcher: Batcher = Batcher(lambda model, items: model.run(items), max_batch=4, max_wait_s=0.5)
    batcher.start()
    yield batcher
    batcher.stop()


def test_a_lone_request_does_not_wait(batcher: Batcher) -> None:
    model = Model("m")
    start = time.monotonic()
    with batcher.arriving():
        future = batcher.submit(model, 1)
    assert future.result(5) == "m:1"
    assert time.monotonic() - start < 0.2  # far below the 0.5 s wait: nobody else was on the way


def test_requests_that_arrive_together_share_batches_of_at_most_max_batch(batcher: Batcher) -> None:
    model = Model("m", delay=0.05)
    barrier = threading.Barrier(10)

    def request(x: int) -> str:
        with batcher.arriving():
            barrier.wait()
            future = batcher.submit(model, x)
        return future.result(5)

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(request, range(10)))
    assert results == [f"m:{x}" for x in range(10)]
    assert all(len(b) <= 4 for b in model.batches) and len(model.batches) <= 4
    assert sorted(x for b in model.batches for x in b) == list(range(10))


def test_models_are_not_mixed_and_failures_reach_their_batch_only(batcher: Batcher) -> None:
    good, bad = Model("good", delay=0.05), Model("bad", fail=True)
    with ThreadPoolExecutor(6) as pool:
        jobs = [(m, x if m is good else 100 + x) for x in range(3) for m in (good, bad)]
        futures = [pool.submit(lambda m=m, x=x: batcher.submit(m, x).result(5)) for m, x in jobs]
    outcomes = []
    for future in futures:
        try:
            outcomes.append(future.result())
        except RuntimeError as exc:
            outcomes.append(str(exc))
    assert outcomes.count("the model broke") == 3
    assert sorted(o for o in outcomes if o.startswith("good")) == ["good:0", "good:1", "good:2"]
    assert all(x < 100 for b in good.batches for x in b) and all(x >= 100 for b in bad.batches for x in b)
    assert batcher.submit(good, 9).result(5) == "good:9"  # the thread survived the failure
