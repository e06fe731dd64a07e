"""The scale-out path: the API queues in real Redis, separate `tailor worker` processes train."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from tailor.api import create_app
from tailor.settings import Settings
from tests.api.conftest import HEADERS, VERSION, make_settings
from tests.images import shapes_dataset

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
    for worker in workers:
        if worker is not None:
            if worker.poll() is None:
                worker.terminate()
            output = worker.communicate(timeout=30)[0]
    return output


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
