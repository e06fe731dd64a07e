"""The scale-out path: the API queues in real Redis, separate `tailor worker` processes train."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from arq.constants import retry_key_prefix
from arq.worker import Worker
from fastapi.testclient import TestClient

from tailor.api import create_app
from tailor.blobs import Access
from tailor.coco import AnnotationKind
from tailor.datasets import DatasetSpec
from tailor.enums import EvaluationFailureCode, EvaluationStatus, FailureCode, ModelStatus
from tailor.models import ModelService, TrainingParameters
from tailor.settings import Settings
from tailor.workers import JobContext
from tailor.workers.arq_worker import REQUEUE_SECONDS, ArqQueue, worker
from tailor.workers.jobs import POLL_SECONDS
from tailor.workers.retries import MAX_TRIES
from tests.api.conftest import HEADERS, VERSION, LiveServer, free_port, make_settings
from tests.images import shapes_dataset

# arq's Worker closes its own Redis pool with a call that redis-py deprecates: nothing Tailor can change.
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")
REDIS_URL = os.environ.get("TAILOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PARAMS, MODELS = {"api-version": VERSION}, "/computervision/models"
FINAL = ("succeeded", "failed", "cancelled")


@dataclass
class Deployment:
    settings: Settings
    env: dict[str, str]

    def start_worker(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [Path(sys.executable).with_name("tailor"), "worker"], env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    """Settings for an API on SQLite and workers in other processes, sharing a fresh Redis queue."""
    queue = f"tailor-test:{uuid.uuid4().hex[:8]}"
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'tailor.db'}", redis_url=REDIS_URL, queue_name=queue)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILOR_")}
    env.update(
        TAILOR_DATA_DIR=str(settings.data_dir), TAILOR_DATABASE_URL=settings.database_url, TAILOR_REDIS_URL=REDIS_URL,
        TAILOR_QUEUE_NAME=queue, TAILOR_DATA_ROOTS=settings.data_roots[0],
        TAILOR_SECRET_KEY=settings.secret_key.get_secret_value(),  # the API's: the workers open what it sealed
    )
    yield Deployment(settings, env)
    redis.Redis.from_url(REDIS_URL).delete(queue)


def create_model(client: TestClient, settings: Settings, *, learnable: bool) -> None:
    path = shapes_dataset(Path(settings.data_roots[0]) / "shapes", classes=2, per_class=4, learnable=learnable)
    registered = client.put("/computervision/datasets/shapes", params=PARAMS, headers=HEADERS,
                            json={"annotationKind": "imageClassification", "annotationFileUris": [str(path)]})
    assert registered.status_code == 201, registered.text
    body = {"trainingParameters": {"trainingDatasetName": "shapes", "timeBudgetInHours": 0.01}}  # 36 s
    assert client.put(f"{MODELS}/m", params=PARAMS, headers=HEADERS, json=body).status_code == 201


def wait_for(client: TestClient, statuses: tuple[str, ...], worker: subprocess.Popen[str], seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while (model := client.get(f"{MODELS}/m", params=PARAMS, headers=HEADERS).json())["status"] not in statuses:
        assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
        assert time.monotonic() < deadline, model
        time.sleep(0.3)
    return model


def stop(*workers: subprocess.Popen[str] | None) -> str:
    """Terminate the workers still running; the last one's output."""
    output = ""
    for process in workers:
        if process is not None:
            if process.poll() is None:
                process.terminate()
            output = process.communicate(timeout=30)[0]
    return output


@pytest.mark.slow
def test_a_model_queued_in_redis_is_trained_and_evaluated_by_a_worker_process(deployment: Deployment) -> None:
    with TestClient(create_app(deployment.settings)) as client:
        worker = deployment.start_worker()
        try:
            create_model(client, deployment.settings, learnable=True)
            model = wait_for(client, FINAL, worker, 180)
            assert model["status"] == "succeeded", model
            evaluation = f"{MODELS}/m/evaluations/e"
            body = {"evaluationParameters": {"testDatasetName": "shapes"}}
            assert client.put(evaluation, params=PARAMS, headers=HEADERS, json=body).status_code == 201
            deadline = time.monotonic() + 60
            while (done := client.get(evaluation, params=PARAMS, headers=HEADERS).json())["status"] not in (
                "succeeded", "failed"
            ):
                assert time.monotonic() < deadline, done
                time.sleep(0.3)
        finally:
            output = stop(worker)
    assert done["status"] == "succeeded" and done["modelPerformance"]["imagesEvaluated"] == 8, (done, output[-3000:])
    assert "train_model" in output and "evaluate_model" in output


@pytest.mark.slow
def test_a_worker_killed_mid_training_is_replaced_by_another_within_the_lease(deployment: Deployment) -> None:
    from tailor.workers.arq_worker import LEASE_SECONDS

    with TestClient(create_app(deployment.settings)) as client:
        first, second = deployment.start_worker(), None
        try:
            # Noise images: never a perfect score, so the training runs until its budget is spent.
            create_model(client, deployment.settings, learnable=False)
            wait_for(client, ("training",), first, 120)
            time.sleep(3)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            second = deployment.start_worker()
            model = wait_for(client, FINAL, second, LEASE_SECONDS + 150)
        finally:
            output = stop(first, second)
    # Noise cannot be learned: the retried training ends in a definite state.
    assert model["status"] == "failed" and model["error"]["code"] == "diverged", (model, output[-3000:])
    assert "train_model" in output


# In-process workers: the same arq Worker as `tailor worker`, run in the test's main thread on a loop of its own.

def in_process_worker(settings: Settings) -> Worker:
    asyncio.set_event_loop(asyncio.new_event_loop())
    return worker(settings)


def run_until_idle(settings: Settings) -> Worker:
    """A worker that takes every queued job, and returns once the queue is empty."""
    arq_worker = in_process_worker(settings)
    arq_worker.burst = True
    try:
        arq_worker.run()
    finally:
        arq_worker.loop.close()
        asyncio.set_event_loop(None)
    return arq_worker


def queued(settings: Settings) -> list[str]:
    return [job.decode() for job in redis.Redis.from_url(REDIS_URL).zrange(settings.queue_name, 0, -1)]


def add_dataset(context: JobContext, *, learnable: bool) -> None:
    path = shapes_dataset(Path(context.settings.data_roots[0]) / "shapes", classes=2, per_class=4, learnable=learnable)
    context.store.datasets.insert("shapes", DatasetSpec(AnnotationKind.CLASSIFICATION, (str(path),), {}, Access()))


@pytest.mark.slow
def test_an_api_restarted_with_queued_work_starts_serves_and_the_work_runs(deployment: Deployment) -> None:
    """What an API stopped during a backlog leaves: a model and an evaluation created but never queued, and a model
    whose worker died mid-training and was then cancelled. The next API starts, queues them, and enqueues what its
    routes are asked for through the same pool; a worker then ends them all."""
    settings = deployment.settings
    context = JobContext(settings)
    add_dataset(context, learnable=True)
    store = context.store
    store.models.insert("m", TrainingParameters("shapes", 0.01), None)
    store.models.insert("dead", TrainingParameters("shapes", 0.01), None)
    store.models.move("dead", ModelStatus.NOT_STARTED, ModelStatus.TRAINING, attempt=1)
    store.models.move("dead", ModelStatus.TRAINING, ModelStatus.CANCELLING)
    store.evaluations.insert("m", "e", "shapes")
    context.close()
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, headers=HEADERS, params=PARAMS) as http:
        assert http.get("/health").json() == {"status": "ok"}
        assert sorted(job.split(":")[0] + ":" + job.split(":")[1] for job in queued(settings)) == [
            "evaluate:m", "train:dead", "train:m"
        ]
        body = {"trainingParameters": {"trainingDatasetName": "shapes", "timeBudgetInHours": 0.01}}
        assert http.put(f"{MODELS}/later", json=body).status_code == 201  # from a route, through the API's pool
        assert any(job.startswith("train:later:") for job in queued(settings))
        assert http.post(f"{MODELS}/later:cancel").json()["status"] == "cancelled"  # not started: at once
        run_until_idle(settings)
        models = {name: http.get(f"{MODELS}/{name}").json() for name in ("m", "dead", "later")}
        evaluation = http.get(f"{MODELS}/m/evaluations/e").json()
    assert {name: model["status"] for name, model in models.items()} == {
        "m": "succeeded", "dead": "cancelled", "later": "cancelled"
    }, models
    # One job at a time, in the order queued: the evaluation ran once its model had trained.
    assert evaluation["status"] == "succeeded" and evaluation["modelPerformance"]["imagesEvaluated"] == 8, evaluation
    assert queued(settings) == []


def test_a_job_whose_tries_are_spent_is_given_up_with_an_incident_id(
    deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    """arq counts a job's runs in Redis; a worker that dies (SIGKILL, the machine lost) leaves its count there. Each
    job here has been run MAX_TRIES times: its next run gives it up, in a definite state, instead of arq dropping
    it and leaving it `training` (or `cancelling`, or `running`) for ever."""
    settings = deployment.settings
    context = JobContext(settings)
    add_dataset(context, learnable=True)
    store = context.store
    for name in ("t", "c"):
        store.models.insert(name, TrainingParameters("shapes", 0.01), None)
        store.models.move(name, ModelStatus.NOT_STARTED, ModelStatus.TRAINING, attempt=MAX_TRIES)
    store.models.move("c", ModelStatus.TRAINING, ModelStatus.CANCELLING)
    store.evaluations.insert("t", "e", "shapes")
    store.evaluations.move("t", "e", EvaluationStatus.NOT_STARTED, EvaluationStatus.RUNNING, attempt=MAX_TRIES)
    queue = ArqQueue(settings, context)
    queue.start()
    queue.stop()
    spent = redis.Redis.from_url(REDIS_URL)
    for job in queued(settings):
        spent.set(retry_key_prefix + job, MAX_TRIES, ex=600)
    with caplog.at_level(logging.ERROR, logger="tailor.workers.retries"):
        run_until_idle(settings)
    failed, cancelled, evaluation = store.models.get("t"), store.models.get("c"), store.evaluations.get("t", "e")
    context.close()
    assert failed.status is ModelStatus.FAILED and failed.error.code is FailureCode.UNKNOWN
    assert evaluation.status is EvaluationStatus.FAILED
    assert evaluation.error.code is EvaluationFailureCode.INTERNAL_SERVER_ERROR
    assert cancelled.status is ModelStatus.CANCELLED and cancelled.billed_seconds == 0
    for error in (failed.error, evaluation.error):
        incident = re.search(r"quote incident (\w+)", error.message)
        assert incident and f"{MAX_TRIES} tries" in error.message, error.message
        assert any(incident[1] in record.getMessage() for record in caplog.records), caplog.text
    assert queued(settings) == []


@pytest.mark.slow
def test_a_worker_stopping_stops_its_training_within_a_step_and_hands_the_job_back(deployment: Deployment) -> None:
    """A worker told to stop (SIGTERM, Ctrl-C) mid-training: the training thread stops at its next step, so the
    worker exits with the device free; the model is left `training` and its job queued again, without spending a
    try. The next worker takes it up, and a cancel reaches its training thread within a step too."""
    settings = deployment.settings
    context = JobContext(settings)
    add_dataset(context, learnable=False)  # noise: never perfect, the search runs until it is stopped
    store = context.store
    store.models.insert("m", TrainingParameters("shapes", 0.01), None)
    queue = ArqQueue(settings, context)
    queue.start()
    queue.stop()
    (job,) = queued(settings)
    arq_worker = in_process_worker(settings)
    asked: list[float] = []

    def stop_once_searching() -> None:
        deadline = time.monotonic() + 120
        while store.models.get("m").progress.get("phase") != "searching" and time.monotonic() < deadline:
            time.sleep(0.05)
        asked.append(time.monotonic())
        arq_worker.loop.call_soon_threadsafe(arq_worker.handle_sig, signal.SIGTERM)  # what the signal does

    stopper = threading.Thread(target=stop_once_searching)
    stopper.start()
    try:
        arq_worker.run()
    finally:
        arq_worker.loop.close()
        asyncio.set_event_loop(None)
        stopper.join()
    stopped_after = time.monotonic() - asked[0]
    left = store.models.get("m")
    time.sleep(2 * POLL_SECONDS)
    assert store.models.get("m") == left  # nothing trains any more
    assert stopped_after < 15, stopped_after
    assert left.status is ModelStatus.TRAINING and left.attempt == 1 and left.progress["phase"] == "searching"
    assert queued(settings) == [job]
    assert int(redis.Redis.from_url(REDIS_URL).get(retry_key_prefix + job) or 0) == 0  # no try spent

    def cancel_once_searching_again() -> None:
        deadline = time.monotonic() + 120
        while (progress := store.models.get("m").progress).get("attempt") != 2 or progress["phase"] != "searching":
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        asked.append(time.monotonic())
        ModelService(store, queue, context.artifacts).cancel("m")

    canceller = threading.Thread(target=cancel_once_searching_again)
    canceller.start()
    try:
        run_until_idle(settings)
    finally:
        canceller.join()
    cancelled = store.models.get("m")
    context.close()
    assert cancelled.status is ModelStatus.CANCELLED and cancelled.attempt == 2, cancelled
    assert time.monotonic() - asked[1] < 15
    assert 0 < cancelled.billed_seconds <= 36 and cancelled.progress["attempt"] == 2


class _Forward(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        target = urlsplit(REDIS_URL)
        with socket.create_connection((target.hostname, target.port or 6379)) as upstream:
            back = threading.Thread(target=_pump, args=(upstream, self.request), daemon=True)
            back.start()
            _pump(self.request, upstream)
            back.join(5)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def redis_answering_at(port: int) -> Iterator[None]:
    """The real Redis, reachable at `port` while the block runs (nothing listens there before)."""
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer(("127.0.0.1", port), _Forward)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_an_api_starts_while_redis_is_down_and_queues_its_work_once_redis_answers(deployment: Deployment) -> None:
    port = free_port()  # nothing listens there yet: Redis is down
    settings = deployment.settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"})
    context = JobContext(settings)
    add_dataset(context, learnable=True)
    context.store.models.insert("before", TrainingParameters("shapes", 0.01), None)  # left by the previous API
    context.close()
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, headers=HEADERS, params=PARAMS) as http:
        assert http.get("/health").status_code == 200 and http.get("/ready").status_code == 503
        body = {"trainingParameters": {"trainingDatasetName": "shapes", "timeBudgetInHours": 0.01}}
        assert http.put(f"{MODELS}/during", json=body).status_code == 201  # stored; queued once Redis answers
        assert http.get(f"{MODELS}/during").json()["status"] == "notStarted"
        with redis_answering_at(port):
            deadline = time.monotonic() + 4 * REQUEUE_SECONDS
            while sorted(job.split(":")[1] for job in queued(settings)) != ["before", "during"]:
                assert time.monotonic() < deadline, queued(settings)
                time.sleep(0.2)
            assert http.get("/ready").status_code == 200
