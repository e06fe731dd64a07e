"""Training on arq over Redis: any number of `tailor worker` processes, on any number of machines.

The job function is the same `run_training` as the in-process runner's, run in a thread so that the worker's event
loop keeps its health checks going. A worker that dies mid-training leaves the job in progress until arq's timeout;
arq then gives it to another worker (up to MAX_TRIES), and `run_training` replaces the dead attempt, unbilled.
(That timeout has to cover the largest budget, so on this path the retry is slow: see the README.)
"""

from __future__ import annotations

import asyncio
from typing import Any

from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker, func

from ..models import ModelStatus
from ..settings import Settings
from .context import JobContext
from .jobs import run_training

MAX_TRIES = 3
# arq times jobs per function, not per job: long enough for the largest budget, plus loading and exporting.
JOB_TIMEOUT = int(1344 * 3600 * 1.5 + 600)


async def train_model(ctx: dict[str, Any], model_name: str) -> str | None:
    status = await asyncio.to_thread(run_training, model_name, ctx["tailor"])
    return status.value if status is not None else None


def worker(settings: Settings) -> Worker:
    """An arq Worker for `settings` (the `tailor worker` command runs it)."""
    if not settings.redis_url:
        raise ValueError("TAILOR_REDIS_URL is not set: `tailor worker` needs Redis (the embedded default trains in-process)")

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["tailor"] = JobContext(settings)

    async def shutdown(ctx: dict[str, Any]) -> None:
        ctx["tailor"].close()

    return Worker(
        functions=[func(train_model, name="train_model", max_tries=MAX_TRIES, timeout=JOB_TIMEOUT)],
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        queue_name=settings.queue_name,
        on_startup=startup,
        on_shutdown=shutdown,
        max_jobs=settings.trainings_per_device,
        handle_signals=True,
    )


class ArqQueue:
    """The API's side: enqueue training jobs in Redis for the workers."""

    def __init__(self, settings: Settings, context: JobContext):
        self._settings = settings
        self._context = context

    def enqueue_training(self, model_name: str) -> None:
        model = self._context.store.get_model(model_name)
        # One job id per model instance: a model deleted and created again under its name is a new job.
        asyncio.run(self._enqueue(model_name, f"train:{model_name}:{model.created.timestamp():.6f}"))

    def request_cancel(self, model_name: str) -> None:
        """Nothing to send: the training polls the store for its `cancelling` status."""

    def start(self) -> None:
        """Models created but never queued (the API stopped in between) are queued again; arq's job ids make a
        second enqueue of a queued job a no-op."""
        for name in self._context.store.model_names_in([ModelStatus.NOT_STARTED]):
            self.enqueue_training(name)

    def stop(self) -> None:
        pass

    async def _enqueue(self, model_name: str, job_id: str) -> None:
        pool = await create_pool(RedisSettings.from_dsn(self._settings.redis_url), default_queue_name=self._settings.queue_name)
        try:
            await pool.enqueue_job("train_model", model_name, _job_id=job_id)
        finally:
            await pool.aclose()
