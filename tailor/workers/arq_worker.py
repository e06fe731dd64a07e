"""Training on arq over Redis: any number of `tailor worker` processes, on any number of machines.

The job function is the same `run_training` as the in-process runner's, run in a thread so that the worker's event
loop keeps its health checks going. A worker claims a job for LEASE_SECONDS and renews the claim while it trains; a
worker that dies stops renewing, so within LEASE_SECONDS another worker takes the job over, and `run_training`
replaces the dead attempt, unbilled (the dead one, should it still run, is fenced out: tailor.workers.jobs).

arq counts the runs of a job (`ctx["job_try"]`, the first is 1) and drops a job past its `max_tries` without
running it: so the functions are declared with more tries than MAX_TRIES, and a run past MAX_TRIES only gives the
job up (tailor.workers.retries: `failed`, `unknown`, an incident id in the log). A worker stopped cleanly (SIGTERM,
Ctrl-C) sets the job's stop flag, waits for the training to stop at its next step, and hands the job back without
spending a try. A job that runs past its time limit is given up the same way.

    worker(settings)    the arq Worker that `tailor worker` runs
    join_training       a worker joining another's training (TAILOR_TRAINING_HELPERS, with PostgreSQL)
    ArqQueue            the API's side: one Redis pool, opened when the API starts, that every enqueue goes through
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.constants import in_progress_key_prefix, retry_key_prefix
from arq.worker import Retry, Worker, func
from redis import Redis
from redis.exceptions import RedisError

from ..blobs import open_storage
from ..enums import ModelStatus
from ..errors import NotFound
from ..secrets import resolve_secret_box
from ..settings import Settings
from ..store import Store
from .context import JobContext
from .evaluation_job import run_evaluation
from .jobs import run_training
from .joining_job import run_join
from .retries import MAX_TRIES, give_up

log = logging.getLogger(__name__)
T = TypeVar("T")

# arq times jobs per function, not per job: long enough for the largest budget, plus loading and exporting.
JOB_TIMEOUT = int(1344 * 3600 * 1.5 + 600)
EVALUATION_TIMEOUT = 24 * 3600  # a test set of the largest size, predicted on a CPU
# arq's own limit, past ours: the job gives itself up before arq would drop it unrecorded.
_ARQ_MARGIN = 60
# arq drops a job whose key has expired (a day after it was queued, by default) without running it: a job is kept as
# long as it may wait in a backlog and run.
JOB_EXPIRES = JOB_TIMEOUT + 30 * 24 * 3600
# arq's claim on a job would otherwise last JOB_TIMEOUT: a dead worker's job would wait that long to be retried.
LEASE_SECONDS = 30
RETRY_SECONDS = 10  # a job that raised (the database unreachable) runs again after this
# Giving a job up is tried again while the database cannot be reached: for about ten minutes.
GIVE_UP_TRIES, GIVE_UP_RETRY_SECONDS = 10, 60
_PROBE_TIMEOUT_S = 1.0  # a look at the queue for /metrics: an unreachable Redis answers nothing quickly
JOIN_PREFIX = "join:"  # the ids of the jobs that ask a worker to join another's training
JOIN_EXPIRES = 24 * 3600  # a join not taken within a day is moot: its training has long ended
REQUEUE_SECONDS = 5  # how often the API tries to queue its unfinished jobs again while Redis does not answer
# What Redis not answering raises (a refused or timed-out connection, a Redis that is loading or read-only).
_UNREACHABLE = (RedisError, OSError, asyncio.TimeoutError)


async def train_model(ctx: dict[str, Any], model_name: str) -> str | None:
    context: JobContext = ctx["tailor"]
    status = await _run(ctx, model_name, None, JOB_TIMEOUT,
                        lambda stop: run_training(model_name, context, stop))
    return status.value if status is not None else None


async def evaluate_model(ctx: dict[str, Any], model_name: str, evaluation_name: str) -> str | None:
    context: JobContext = ctx["tailor"]
    status = await _run(ctx, model_name, evaluation_name, EVALUATION_TIMEOUT,
                        lambda stop: run_evaluation(model_name, evaluation_name, context))
    return status.value if status is not None else None


async def join_training(ctx: dict[str, Any], model_name: str, attempt: int, study_name: str) -> int:
    """Join another worker's training (tailor.workers.joining_job). Run once: a joined worker that dies is not
    replaced (the heartbeat fails its trial, which another participant runs again), and a failure here is the
    host's to meet, not a reason to fail the model."""
    context: JobContext = ctx["tailor"]
    if ctx["job_try"] > 1:
        return 0
    settings = context.settings
    stop = threading.Event()
    renewing = asyncio.create_task(_renew_claim(ctx["redis"], ctx["job_id"]))
    running = asyncio.ensure_future(asyncio.to_thread(
        run_join, model_name, attempt, study_name, context, stop,
        # A worker runs only with TAILOR_REDIS_URL set (`worker` refuses to start without it).
        lambda: _others_waiting(cast(str, settings.redis_url), settings.queue_name),
    ))
    try:
        await asyncio.wait({running})
    except asyncio.CancelledError:
        stop.set()
        await asyncio.wait({running})
        raise
    finally:
        renewing.cancel()
    try:
        return running.result()
    except Exception:
        log.exception("joining the training of %s failed; the training goes on without this worker", model_name)
        return 0


def _others_waiting(url: str, queue_name: str) -> bool:
    """Whether a training or an evaluation waits in the queue for a worker (a joined worker then gives way)."""
    with Redis.from_url(url, socket_timeout=_PROBE_TIMEOUT_S, socket_connect_timeout=_PROBE_TIMEOUT_S) as redis:
        job_ids = [job_id.decode() for job_id in redis.zrange(queue_name, 0, -1)]
        waiting = [job_id for job_id in job_ids if not job_id.startswith(JOIN_PREFIX)]
        started = redis.exists(*(in_progress_key_prefix + job_id for job_id in waiting)) if waiting else 0
    return len(waiting) > started


async def _run(
    ctx: dict[str, Any], model_name: str, evaluation_name: str | None, timeout: float,
    job: Callable[[threading.Event], T],
) -> T | None:
    """Run `job(stop)` in a thread under the renewed claim, and return what it returns. Its tries spent or its time
    up, the job is given up instead (None). Cancelled (the worker stops), `stop` is set and the thread awaited, so
    that the device is free when the job goes back to the queue. A job that raises (the database unreachable) is
    retried, a try spent."""
    store = ctx["tailor"].store
    if ctx["job_try"] > MAX_TRIES:
        why = f"it did not end in any of its {MAX_TRIES} tries (its worker died, or it failed before it ended)"
        await _give_up(store, model_name, evaluation_name, why)
        return None
    stop = threading.Event()
    renewing = asyncio.create_task(_renew_claim(ctx["redis"], ctx["job_id"]))
    running = asyncio.ensure_future(asyncio.to_thread(job, stop))
    try:
        done, _ = await asyncio.wait({running}, timeout=timeout)
    except asyncio.CancelledError:
        stop.set()
        log.info("job %s: its worker stops; waiting for it to stop at its next step", ctx["job_id"])
        await asyncio.wait({running})
        # arq runs the job again: a clean stop is not one of its tries.
        await ctx["redis"].decr(retry_key_prefix + ctx["job_id"])
        raise
    finally:
        renewing.cancel()
    if not done:
        stop.set()  # a training stops at its next step; it finds itself given up and writes nothing
        await _give_up(store, model_name, evaluation_name, f"it ran past its time limit of {timeout / 3600:g} h")
        return None
    try:
        return running.result()
    except Exception:
        log.exception("job %s failed before it recorded an end; it runs again in %d s", ctx["job_id"], RETRY_SECONDS)
        raise Retry(defer=RETRY_SECONDS) from None


async def _give_up(store: Store, model_name: str, evaluation_name: str | None, why: str) -> None:
    try:
        await asyncio.to_thread(give_up, store, model_name, evaluation_name, why)
    except Exception:
        log.exception("%s could not be given up; trying again in %d s", model_name, GIVE_UP_RETRY_SECONDS)
        raise Retry(defer=GIVE_UP_RETRY_SECONDS) from None


async def _renew_claim(redis: ArqRedis, job_id: str) -> None:
    while True:
        await asyncio.sleep(LEASE_SECONDS / 3)
        await redis.pexpire(in_progress_key_prefix + job_id, LEASE_SECONDS * 1000)


def worker(settings: Settings) -> Worker:
    """An arq Worker for `settings` (the `tailor worker` command runs it)."""
    if not settings.redis_url:
        raise ValueError("TAILOR_REDIS_URL is not set: `tailor worker` needs Redis (the embedded default trains in-process)")
    resolve_secret_box(settings)  # a SecretKeyError (a ValueError) now, before the worker takes jobs
    open_storage(settings).close()  # a storage that cannot be opened (a bad TAILOR_ARTIFACTS_URL) stops it now

    async def startup(ctx: dict[str, Any]) -> None:
        loop, redis = asyncio.get_running_loop(), ctx["redis"]

        def invite(model_name: str, attempt: int, study_name: str) -> None:  # from a training's thread
            for k in range(settings.training_helpers):
                job_id = f"{JOIN_PREFIX}{model_name}:{attempt}:{study_name}:{k}"
                asyncio.run_coroutine_threadsafe(redis.enqueue_job(
                    "join_training", model_name, attempt, study_name, _job_id=job_id, _expires=JOIN_EXPIRES,
                ), loop).result(30)

        ctx["tailor"] = JobContext(settings, invite=invite)
        ctx["tailor"].store  # noqa: B018 connected now, not at the first job: the schema is migrated when the worker starts
        ctx["tailor"].device_pool  # noqa: B018 one pool for the trainings this worker runs at once (TAILOR_DEVICES)

    async def shutdown(ctx: dict[str, Any]) -> None:
        ctx["tailor"].close()

    tries = MAX_TRIES + GIVE_UP_TRIES  # the runs past MAX_TRIES only give the job up
    arq_worker = Worker(
        functions=[
            func(train_model, name="train_model", max_tries=tries, timeout=JOB_TIMEOUT + _ARQ_MARGIN),
            func(evaluate_model, name="evaluate_model", max_tries=tries, timeout=EVALUATION_TIMEOUT + _ARQ_MARGIN),
            func(join_training, name="join_training", max_tries=2, timeout=JOB_TIMEOUT + _ARQ_MARGIN),
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
    """The API's side: enqueue trainings and evaluations in Redis for the workers.

    One arq pool, opened by `start` (the app's lifespan) on an event loop of its own, in a thread: the services
    enqueue from the API's worker threads and the lifespan from the API's loop, and both hand the call to that loop
    and wait for it. Job ids are one per record, so that enqueuing a job that is queued or running does nothing.

    Redis unreachable (at start, or when a job is created) stops nothing: the record is in the database, and every
    REQUEUE_SECONDS until Redis answers, a thread queues again every job that has not ended."""

    def __init__(self, settings: Settings, context: JobContext):
        self._settings = settings
        self._context = context
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pool: ArqRedis | None = None
        self._lock = threading.Lock()
        self._requeuer: threading.Thread | None = None
        self._behind = False  # a job could not be queued since the requeuer last looked
        self._stopping = threading.Event()

    def enqueue_training(self, model_name: str) -> None:
        self._enqueue(*self._training_job(model_name))

    def enqueue_evaluation(self, model_name: str, evaluation_name: str) -> None:
        self._enqueue(*self._evaluation_job(model_name, evaluation_name))

    def request_cancel(self, model_name: str) -> None:
        """Nothing to send: the training polls the store for its `cancelling` status."""

    def start(self) -> None:
        """Open the pool, then queue every job that has not ended: models and evaluations created while the API
        was stopped before it queued them, and any whose job Redis lost. A job already queued or running is left
        as it is."""
        self._stopping.clear()
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="tailor-arq-queue", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        if not self._requeue():
            self._requeue_later()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            requeuer = self._requeuer
        if requeuer is not None:
            requeuer.join(10)
        loop, self._loop = self._loop, None
        if loop is None:
            return
        pool, self._pool = self._pool, None
        if pool is not None:
            asyncio.run_coroutine_threadsafe(pool.aclose(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()

    def queued(self) -> int:
        """Jobs in Redis that no worker has started yet (/metrics): arq keeps a job in its queue's sorted set until
        it ends, and marks the started ones with an in-progress key."""
        # An ArqQueue is made only when TAILOR_REDIS_URL is set (tailor.api.app).
        url, queue_name = cast(str, self._settings.redis_url), self._settings.queue_name
        with Redis.from_url(url, socket_timeout=_PROBE_TIMEOUT_S, socket_connect_timeout=_PROBE_TIMEOUT_S) as redis:
            job_ids = [job_id.decode() for job_id in redis.zrange(queue_name, 0, -1)]
            started = redis.exists(*(in_progress_key_prefix + job_id for job_id in job_ids)) if job_ids else 0
        return len(job_ids) - started

    # Jobs --------------------------------------------------------------------------------------------------

    def _training_job(self, model_name: str) -> tuple[str, str, tuple[str, ...]]:
        model = self._context.store.models.get(model_name)
        # One job id per model instance: a model deleted and created again under its name is a new job.
        return "train_model", f"train:{model_name}:{model.created.timestamp():.6f}", (model_name,)

    def _evaluation_job(self, model_name: str, evaluation_name: str) -> tuple[str, str, tuple[str, ...]]:
        evaluation = self._context.store.evaluations.get(model_name, evaluation_name)
        job_id = f"evaluate:{model_name}:{evaluation_name}:{evaluation.created.timestamp():.6f}"
        return "evaluate_model", job_id, (model_name, evaluation_name)

    def _enqueue(self, function: str, job_id: str, args: tuple[str, ...]) -> None:
        if self._loop is None:
            raise RuntimeError("the arq queue is not started (ArqQueue.start, in the API's lifespan)")
        try:
            self._send(function, job_id, args)
        except _UNREACHABLE as error:
            log.warning("job %s is not queued yet, Redis did not answer (%s): it is queued once Redis answers",
                        job_id, error or type(error).__name__)
            self._requeue_later()

    def _send(self, function: str, job_id: str, args: tuple[str, ...]) -> None:
        if self._pool is None:
            # No retries here: the requeuer tries again, and the API does not wait for Redis to start.
            redis_settings = RedisSettings.from_dsn(cast(str, self._settings.redis_url))  # set, as in `queued`
            self._pool = self._call(create_pool(
                redis_settings, retry=redis_settings.conn_retries, default_queue_name=self._settings.queue_name
            ))
        self._call(self._pool.enqueue_job(function, *args, _job_id=job_id, _expires=JOB_EXPIRES))

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(60)

    # Requeuing ---------------------------------------------------------------------------------------------

    def _requeue(self) -> bool:
        """Queue every job that has not ended; False when Redis did not answer."""
        store = self._context.store
        unfinished = [ModelStatus.NOT_STARTED, ModelStatus.TRAINING, ModelStatus.CANCELLING]
        try:
            for name in store.models.names_in(unfinished):
                self._send(*self._training_job(name))
            for model_name, evaluation_name in store.evaluations.unfinished():
                self._send(*self._evaluation_job(model_name, evaluation_name))
        except NotFound:  # deleted meanwhile: the next pass does without it
            return False
        except _UNREACHABLE as error:
            log.warning("Redis at the queue is unreachable (%s): unfinished jobs are queued again every %d s until "
                        "it answers", error or type(error).__name__, REQUEUE_SECONDS)
            return False
        return True

    def _requeue_later(self) -> None:
        with self._lock:
            self._behind = True
            if self._requeuer is None and not self._stopping.is_set():
                self._requeuer = threading.Thread(target=self._keep_requeuing, name="tailor-arq-requeue", daemon=True)
                self._requeuer.start()

    def _keep_requeuing(self) -> None:
        while not self._stopping.wait(REQUEUE_SECONDS):
            with self._lock:
                self._behind = False
            done = self._requeue()
            with self._lock:
                if done and not self._behind:
                    self._requeuer = None
                    log.info("Redis answers again: every unfinished job is queued")
                    return
        with self._lock:
            self._requeuer = None
