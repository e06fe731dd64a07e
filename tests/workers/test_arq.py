"""The scale-out path: the API queues in real Redis, a separate `tailor worker` process trains."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis
from fastapi.testclient import TestClient

from tailor.api import create_app
from tests.api.conftest import HEADERS, VERSION, make_settings
from tests.images import shapes_dataset

REDIS_URL = os.environ.get("TAILOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def test_a_model_queued_in_redis_is_trained_by_a_worker_process(tmp_path: Path) -> None:
    queue = f"tailor-test:{uuid.uuid4().hex[:8]}"
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'tailor.db'}", redis_url=REDIS_URL, queue_name=queue)
    path = shapes_dataset(Path(settings.data_roots[0]) / "shapes", classes=2, per_class=4)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILOR_")}
    env.update(
        TAILOR_DATA_DIR=str(settings.data_dir), TAILOR_DATABASE_URL=settings.database_url, TAILOR_REDIS_URL=REDIS_URL,
        TAILOR_QUEUE_NAME=queue, TAILOR_DATA_ROOTS=settings.data_roots[0],
    )
    params, models = {"api-version": VERSION}, "/computervision/models"
    with TestClient(create_app(settings)) as client:
        worker = subprocess.Popen(
            [Path(sys.executable).with_name("tailor"), "worker"], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            registered = client.put("/computervision/datasets/shapes", params=params, headers=HEADERS,
                                    json={"annotationKind": "imageClassification", "annotationFileUris": [str(path)]})
            assert registered.status_code == 201, registered.text
            body = {"trainingParameters": {"trainingDatasetName": "shapes", "timeBudgetInHours": 0.01}}
            assert client.put(f"{models}/m", params=params, headers=HEADERS, json=body).status_code == 201
            deadline = time.monotonic() + 180
            while (model := client.get(f"{models}/m", params=params, headers=HEADERS).json())["status"] not in (
                "succeeded", "failed", "cancelled"
            ):
                assert worker.poll() is None, worker.stdout.read()
                assert time.monotonic() < deadline, model
                time.sleep(0.5)
        finally:
            worker.terminate()
            output, _ = worker.communicate(timeout=30)
            redis.Redis.from_url(REDIS_URL).delete(queue)
    assert model["status"] == "succeeded", (model, output[-3000:])
    assert "train_model" in output
