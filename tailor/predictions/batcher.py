"""Micro-batching: analyze requests that arrive together run through their model as one batch, on one inference
thread, off the event loop.

A batch takes every request already waiting for the same model, up to `max_batch`. It waits (at most `max_wait_s`)
only while other requests are on their way: announced with `arriving()` (still looking up their model), or expected
because the previous batch was larger than what is waiting. A lone client never waits; under load the batches fill.

    batcher = Batcher(lambda model, images: model.probabilities(images), max_batch=8, max_wait_s=0.005)
    with batcher.arriving():
        model = cache.get(key)
        future = batcher.submit(model, image)
    row = await asyncio.wrap_future(future)
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ..errors import InternalFailure

log = logging.getLogger(__name__)

M = TypeVar("M")  # a model
X = TypeVar("X")  # one input
Y = TypeVar("Y")  # one output


@dataclass
class _Job(Generic[M, X, Y]):
    model: M
    item: X
    future: Future[Y] = field(default_factory=Future)


class BatcherStopped(InternalFailure):
    """The service is stopping: what was not submitted before will not be run."""


class Batcher(Generic[M, X, Y]):
    def __init__(
        self, run: Callable[[M, list[X]], Sequence[Y]], *, max_batch: int, max_wait_s: float, name: str = "tailor-infer"
    ):
        self._run = run
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._cond = threading.Condition()
        self._jobs: deque[_Job[M, X, Y]] = deque()
        self._arriving = 0
        self._last_size = 0
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.batches = 0  # batches run, and the requests in them: for the tests and the benchmark
        self.batched = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what was submitted, then end the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @contextmanager
    def arriving(self) -> Iterator[None]:
        """Around the work that precedes `submit` (finding the model): batches being formed wait for it."""
        with self._cond:
            self._arriving += 1
        try:
            yield
        finally:
            with self._cond:
                self._arriving -= 1
                self._cond.notify_all()

    def submit(self, model: M, item: X) -> Future[Y]:
        job: _Job[M, X, Y] = _Job(model, item)
        with self._cond:
            if self._stopping:
                raise BatcherStopped("the service is stopping")
            self._jobs.append(job)
            self._cond.notify_all()
        return job.future

    def _loop(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._run_batch(batch)

    def _next_batch(self) -> list[_Job[M, X, Y]] | None:
        with self._cond:
            while not self._jobs:
                if self._stopping:
                    return None
                self._cond.wait()
            model = self._jobs[0].model
            deadline = time.monotonic() + self._max_wait_s
            while True:
                ready = sum(1 for job in self._jobs if job.model is model)
                left = deadline - time.monotonic()
                # Under load the clients of the last batch send their next requests within a few milliseconds of
                # their answers: waiting for them fills the batch instead of splitting the load into small ones.
                expected = self._arriving > 0 or ready < self._last_size
                if ready >= self._max_batch or not expected or left <= 0 or self._stopping:
                    break
                self._cond.wait(left)
            batch: list[_Job[M, X, Y]] = []
            rest: deque[_Job[M, X, Y]] = deque()
            for job in self._jobs:
                (batch if job.model is model and len(batch) < self._max_batch else rest).append(job)
            self._jobs = rest
            return batch

    def _run_batch(self, batch: list[_Job[M, X, Y]]) -> None:
        live = [job for job in batch if job.future.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            outputs = self._run(live[0].model, [job.item for job in live])
        except BaseException as exc:  # every waiting request learns of it; the thread carries on
            log.exception("a batch of %d failed", len(live))
            for job in live:
                job.future.set_exception(exc)
            return
        self.batches += 1
        self.batched += len(live)
        self._last_size = len(live)
        for job, output in zip(live, outputs, strict=True):
            job.future.set_result(output)

    @property
    def mean_batch(self) -> float:
        return self.batched / self.batches if self.batches else 0.0
