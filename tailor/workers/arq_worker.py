"""Training on arq over Redis: any number of `tailor worker` processes, on any number of machines.

The job function is the same `run_training` as the in-process runner's, run in a thread so that the worker's event
loop keeps its health checks going. A worker claims a job for LEASE_SECONDS and renews the claim while it trains; a
worker that dies stops renewing, so within LEASE_SECONDS another worker takes the job over (up to MAX_TRIES), and
`run_training` replaces the dead attempt, unbilled.
"""

from __future__ import annotations

import asyncio
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.constants import in_progress_key_prefix
from arq.worker import Worker, func
from redis import Redis

from ..enums import ModelStatus
from ..secrets import resolve_secret_box
from ..settings import Settings
from .context import JobContext
from .evaluation_job import run_evaluation
from .jobs import run_training

MAX_TRIES = 3
# arq times jobs per function, not per job: long enough for the largest budget, plus loading and exporting.
JOB_TIMEOUT = int(1344 * 3600 * 1.5 + 600)
EVALUATION_TIMEOUT = 24 * 3600  # a test set of the largest size, predicted on a CPU
# arq's claim on a job would otherwise last JOB_TIMEOUT: a dead worker's job would wait that long to be retried.
LEASE_SECONDS = 30
_PROBE_TIMEOUT_S = 1.0  # a look at the queue for /metrics: an unreachable Redis answers nothing quickly


async def train_model(ctx: dict[str, Any], model_name: str) -> str | None:
    renewing = asyncio.create_task(_renew_claim(ctx["redis"], ctx["job_id"]))
    try:
        status = await asyncio.to_thread(run_training, model_name, ctx["tailor"])
    finally:
        renewing.cancel()
    return status.value if status is not None else None


async def evaluate_model(ctx: dict[str, Any], model_name: str, evaluation_name: str) -> str | None:
    renewing = asyncio.create_task(_renew_claim(ctx["redis"], ctx["job_id"]))
    try:
        status = await asyncio.to_thread(run_evaluation, model_name, evaluation_name, ctx["tailor"])
    finally:
        renewing.cancel()
    return status.value if status is not None else None


async def _renew_claim(redis: ArqRedis, job_id: str) -> None:
    while True:
        await asyncio.sleep(LEASE_SECONDS / 3)
        await redis.pexpire(in_progress_key_prefix + job_id, LEASE_SECONDS * 1000)


def worker(settings: Settings) -> Worker:
    """An arq Worker for `settings` (the `tailor worker` command runs it)."""
    if not settings.redis_url:
        raise ValueError("TAILOR_REDIS_URL is not set: `tailor worker` needs Redis (the embedded default trains in-process)")
    resolve_secret_box(settings)  # a SecretKeyError (a ValueError) now, before the worker takes jobs

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["tailor"] = JobContext(settings)
        ctx["tailor"].store  # connected now, not at the first job: the schema is migrated when the worker starts

    async def shutdown(ctx: dict[str, Any]) -> None:
        ctx["tailor"].close()

    arq_worker = Worker(
        functions=[
            func(train_model, name="train_model", max_tries=MAX_TRIES, timeout=JOB_TIMEOUT),
            func(evaluate_model, name="evaluate_model", max_tries=MAX_TRIES, timeout=EVALUATION_TIMEOUT),
        ],
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        queue_name=settings.queue_name,
        on_startup=startup,
        on_shutdown=shutdown,
        max_jobs=settings.trainings_per_device,
        handle_signals=True,
    )
    arq_worker.in_progress_timeout_s = LEASE_SECONDS  # the first claim's length; train_model renews it
    return arq_worker


class ArqQueue:
    """The API's side: enqueue training jobs in Redis for the workers."""

    def __init__(self, settings: Settings, context: JobContext):
        self._settings = settings
        self._context = context

    def enqueue_training(self, model_name: str) -> None:
        model = self._context.store.models.get(model_name)
        # One job id per model instance: a model deleted and created again under its name is a new job.
        asyncio.run(self._enqueue("train_model", f"train:{model_name}:{model.created.timestamp():.6f}", model_name))

    def enqueue_evaluation(self, model_name: str, evaluation_name: str) -> None:
        evaluation = self._context.store.evaluations.get(model_name, evaluation_name)
        job_id = f"evaluate:{model_name}:{evaluation_name}:{evaluation.created.timestamp():.6f}"
        asyncio.run(self._enqueue("evaluate_model", job_id, model_name, evaluation_name))

    def request_cancel(self, model_name: str) -> None:
        """Nothing to send: the training polls the store for its `cancelling` status."""

    def start(self) -> None:
        """Models created but never queued (the API stopped in between) are queued again; arq's job ids make a
        second enqueue of a queued job a no-op."""
        for name in self._context.store.models.names_in([ModelStatus.NOT_STARTED]):
            self.enqueue_training(name)
        for model_name, evaluation_name in self._context.store.evaluations.unfinished():
            self.enqueue_evaluation(model_name, evaluation_name)

    def stop(self) -> None:
        pass

    def queued(self) -> int:
        """Jobs in Redis that no worker has started yet (/metrics): arq keeps a job in its queue's sorted set until
        it ends, and marks the started ones with an in-progress key."""
        url, queue_name = self._settings.redis_url, self._settings.queue_name
        with Redis.from_url(url, socket_timeout=_PROBE_TIMEOUT_S, socket_connect_timeout=_PROBE_TIMEOUT_S) as redis:
            job_ids = [job_id.decode() for job_id in redis.zrange(queue_name, 0, -1)]
            started = redis.exists(*(in_progress_key_prefix + job_id for job_id in job_ids)) if job_ids else 0
        return len(job_ids) - started

    async def _enqueue(self, function: str, job_id: str, *args: str) -> None:
        pool = await create_pool(RedisSettings.from_dsn(self._settings.redis_url), default_queue_name=self._settings.queue_name)
        try:
            await pool.enqueue_job(function, *args, _job_id=job_id)
        finally:
            await pool.aclose()
