"""Tailor at scale, as an operator runs it: PostgreSQL, Redis and Azurite, two API processes and two workers, each
with a data directory of its own as if on separate hosts (nothing shared but the three servers).

One cluster for the module; the tests run in order and each leaves it as the next expects (two APIs up, workers
started as each needs)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import optuna
import psycopg
import pytest
import redis
from cryptography.fernet import Fernet
from PIL import Image

from tailor.automl.joining import PARTICIPANT, SECONDS
from tailor.workers.arq_worker import LEASE_SECONDS, MAX_TRIES
from tests.api.conftest import free_port
from tests.azurite import Azurite
from tests.databases import ADMIN_URL
from tests.images import shapes_dataset

REDIS_URL = os.environ.get("TAILOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
KEY = "scale-out-training-key"
PARAMS = {"api-version": "2023-04-01-preview"}
HEADERS = {"Ocp-Apim-Subscription-Key": KEY}
BUDGET_HOURS = 0.01  # 36 s: the smallest budget the shapes set trains in
FINAL = ("succeeded", "failed", "cancelled")
TAILOR = Path(sys.executable).with_name("tailor")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    url: str | None = None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]
    apis: list[Process] = field(default_factory=list)
    workers: list[Process] = field(default_factory=list)
    dataset_url: str = ""
    noisy_dataset_url: str = ""

    def _host(self, name: str) -> dict[str, str]:
        """The environment of one host: the shared servers, and a data directory nobody else sees."""
        data = self.root / name
        data.mkdir(exist_ok=True)
        return {**self.env, "TAILOR_DATA_DIR": str(data)}

    def start_api(self, name: str) -> Process:
        port = free_port()
        log = self.root / f"{name}.{len(self.apis)}.log"
        popen = subprocess.Popen(
            [str(TAILOR), "serve", "--port", str(port)], env=self._host(name),
            stdout=log.open("wb"), stderr=subprocess.STDOUT,
        )
        api = Process(name, popen, log, f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        while True:
            assert api.alive(), f"{name} exited:\n{api.output()[-4000:]}"
            try:
                if httpx.get(f"{api.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{name} did not start in 60 s:\n{api.output()[-4000:]}"
            time.sleep(0.3)
        self.apis.append(api)
        return api

    def start_worker(self, name: str, **env: str) -> Process:
        log = self.root / f"{name}.{len(self.workers)}.log"
        popen = subprocess.Popen([str(TAILOR), "worker"], env={**self._host(name), **env}, stdout=log.open("wb"),
                                 stderr=subprocess.STDOUT)
        worker = Process(name, popen, log)
        self.workers.append(worker)
        return worker

    def live_workers(self) -> list[Process]:
        return [w for w in self.workers if w.alive()]

    def logs(self) -> str:
        return "\n".join(f"--- {p.log.name}\n{p.output()[-2500:]}" for p in [*self.apis, *self.workers])


def call(api: Process, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(method, f"{api.url}/computervision/{path}", params=PARAMS, headers=HEADERS, timeout=60,
                         **kwargs)


def create_model(api: Process, name: str, dataset: str = "shapes") -> None:
    body = {"trainingParameters": {"trainingDatasetName": dataset, "timeBudgetInHours": BUDGET_HOURS}}
    created = call(api, "PUT", f"models/{name}", json=body)
    assert created.status_code == 201, created.text


def wait_for(cluster: Cluster, api: Process, name: str, statuses: tuple[str, ...], seconds: float,
             attempt: int | None = None) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        model = call(api, "GET", f"models/{name}").json()
        if model["status"] in statuses and (attempt is None or model["trainingProgress"].get("attempt") == attempt):
            return model
        assert time.monotonic() < deadline, f"{name}: {model}\n{cluster.logs()}"
        time.sleep(0.5)


def worker_of(cluster: Cluster, model: str, seconds: float = 60) -> Process:
    """The live worker whose log shows it took the model's job (arq logs the job id, which names the model)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for worker in cluster.live_workers():
            if f"train:{model}:" in worker.output():
                return worker
        time.sleep(0.3)
    raise AssertionError(f"no worker took {model}\n{cluster.logs()}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, azurite: Azurite) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("scale-out")
    database = f"tailor_scale_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    queue = f"tailor-scale:{uuid.uuid4().hex[:8]}"
    container = f"tailor-{uuid.uuid4().hex[:8]}"
    azurite.container(container, public=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILOR_")}
    env.update(
        TAILOR_DATABASE_URL=ADMIN_URL.rsplit("/", 1)[0] + f"/{database}",
        TAILOR_REDIS_URL=REDIS_URL,
        TAILOR_QUEUE_NAME=queue,
        TAILOR_TRAINING_KEY=KEY,
        TAILOR_SECRET_KEY=Fernet.generate_key().decode(),
        TAILOR_ALLOW_HOSTS=azurite.host_port,
        TAILOR_STORAGE_CONNECTION_STRING=azurite.connection_string,
        TAILOR_ARTIFACTS_URL=f"{azurite.blob_endpoint}/{container}",
        TAILOR_PRELOAD_MODELS="0",
    )
    cluster = Cluster(root, env)
    cluster.dataset_url = _upload_shapes(azurite, root)
    cluster.noisy_dataset_url = _upload_shapes(azurite, root, wrong_labels=3)
    try:
        api = cluster.start_api("api-a")
        cluster.start_api("api-b")
        registered = call(api, "PUT", "datasets/shapes", json={
            "annotationKind": "imageClassification", "annotationFileUris": [cluster.dataset_url],
        })
        assert registered.status_code == 201, registered.text
        registered = call(api, "PUT", "datasets/noisy", json={
            "annotationKind": "imageClassification", "annotationFileUris": [cluster.noisy_dataset_url],
        })
        assert registered.status_code == 201, registered.text
        yield cluster
    finally:
        for process in [*cluster.workers, *cluster.apis]:
            process.stop()
        redis.Redis.from_url(REDIS_URL).delete(queue)
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _upload_shapes(azurite: Azurite, root: Path, *, wrong_labels: int = 0) -> str:
    """The shapes set (three colours of disc) in a public container: no host has the images on its disk. With
    `wrong_labels`, that many images carry the next class's label: no recipe is perfect, so a training runs until
    its budget is spent."""
    coco_path = shapes_dataset(root / f"shapes-{wrong_labels}", classes=3, per_class=6)
    coco = json.loads(coco_path.read_text())
    for annotation in coco["annotations"][::6][:wrong_labels]:
        annotation["category_id"] = annotation["category_id"] % 3 + 1
    base = azurite.container(f"shapes-{uuid.uuid4().hex[:6]}", public=True)
    container = base.rsplit("/", 1)[1]
    for image in coco["images"]:
        azurite.upload(container, image["file_name"], (coco_path.parent / image["file_name"]).read_bytes())
        image["absolute_url"] = f"{base}/{image['file_name']}"
    return azurite.upload(container, "train.json", json.dumps(coco).encode())


def _disc(colour: tuple[int, int, int]) -> bytes:
    image = Image.new("RGB", (64, 64), (230, 230, 230))
    from PIL import ImageDraw

    ImageDraw.Draw(image).ellipse((16, 16, 48, 48), fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def analyze(api: Process, model: str, image: bytes) -> list[dict]:
    answer = httpx.post(f"{api.url}/computervision/imageanalysis:analyze",
                        params={**PARAMS, "model-name": model}, headers={**HEADERS, "Content-Type": "image/png"},
                        content=image, timeout=120)
    assert answer.status_code == 200, answer.text
    return answer.json()["customModelResult"]["tagsResult"]["values"]


def billed_seconds(model: dict) -> float:
    """What the model was billed, in seconds (trainingCostInMinutes is whole minutes)."""
    assert model["trainingCostInMinutes"] <= BUDGET_HOURS * 60
    return model["trainingProgress"]["budgetUsedSeconds"]


def test_models_trained_by_either_worker_are_served_by_both_apis(cluster: Cluster) -> None:
    a, b = cluster.apis
    first, second = cluster.start_worker("worker-1"), cluster.start_worker("worker-2")
    create_model(a, "m1")
    create_model(b, "m2")
    trained = {name: wait_for(cluster, a, name, FINAL, 300) for name in ("m1", "m2")}
    for name, model in trained.items():
        assert model["status"] == "succeeded", (model, cluster.logs())
        assert billed_seconds(model) <= BUDGET_HOURS * 3600 + 1e-6
    # Each worker trained one (each runs one training at a time, and both were idle).
    assert {worker_of(cluster, "m1").name, worker_of(cluster, "m2").name} == {first.name, second.name}
    red = _disc((220, 30, 30))  # class_0 is the red disc
    for api in (a, b):
        for name in ("m1", "m2"):
            assert analyze(api, name, red)[0]["name"] == "class_0", (api.name, name)
            report = call(api, "GET", f"models/{name}/report")
            assert report.status_code == 200 and "<html" in report.text.lower(), (api.name, report.status_code)


def test_a_worker_killed_mid_training_is_replaced_and_the_model_billed_once(cluster: Cluster) -> None:
    a, _ = cluster.apis
    create_model(a, "m3", "noisy")  # trains for its whole budget
    wait_for(cluster, a, "m3", ("training",), 120, attempt=1)
    victim = worker_of(cluster, "m3")
    time.sleep(5)  # well into its first attempt, billing
    victim.kill()
    cluster.start_worker(f"{victim.name}-again")  # the host comes back as a new process
    model = wait_for(cluster, a, "m3", FINAL, LEASE_SECONDS + 240)
    assert model["status"] == "succeeded", (model, cluster.logs())
    assert model["trainingProgress"]["attempt"] == 2
    # The dead attempt is not billed: one attempt's bill, within the budget.
    assert 0 < billed_seconds(model) <= BUDGET_HOURS * 3600 + 1e-6, model
    assert analyze(cluster.apis[1], "m3", _disc((220, 30, 30)))[0]["name"] == "class_0"


def test_an_api_restarted_with_queued_work_starts_and_the_work_runs(cluster: Cluster) -> None:
    for worker in cluster.live_workers():
        worker.stop()
    a, b = cluster.apis
    create_model(a, "m4")
    evaluation = call(b, "PUT", "models/m1/evaluations/e1", json={"evaluationParameters": {"testDatasetName": "shapes"}})
    assert evaluation.status_code == 201, evaluation.text
    a.stop()
    b.stop()
    cluster.apis.clear()
    a = cluster.start_api("api-a")  # starts with a training and an evaluation queued
    cluster.start_api("api-b")
    assert call(a, "GET", "models/m4").json()["status"] == "notStarted"
    cluster.start_worker("worker-1")
    model = wait_for(cluster, a, "m4", FINAL, 300)
    assert model["status"] == "succeeded", (model, cluster.logs())
    deadline = time.monotonic() + 120
    while (done := call(a, "GET", "models/m1/evaluations/e1").json())["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, done
        time.sleep(0.5)
    assert done["status"] == "succeeded" and done["modelPerformance"]["imagesEvaluated"] == 18, done


def test_a_job_killed_on_every_try_ends_failed(cluster: Cluster) -> None:
    a, _ = cluster.apis
    for worker in cluster.live_workers():
        worker.stop()
    create_model(a, "m5", "noisy")
    for attempt in range(1, MAX_TRIES + 1):
        worker = cluster.start_worker(f"worker-try-{attempt}")
        wait_for(cluster, a, "m5", ("training",), LEASE_SECONDS + 120, attempt=attempt)
        worker.kill()
    cluster.start_worker("worker-last")
    model = wait_for(cluster, a, "m5", FINAL, LEASE_SECONDS + 120)
    assert model["status"] == "failed", (model, cluster.logs())
    assert model["error"]["code"] == "unknown" and "incident" in model["error"]["message"], model
    assert model["trainingCostInMinutes"] == 0
    # And it can be deleted: nothing holds it any more.
    assert call(a, "DELETE", "models/m5").status_code == 204


def test_a_second_worker_joins_a_training_and_the_bill_stays_within_the_budget(
    cluster: Cluster, azurite: Azurite
) -> None:
    a, b = cluster.apis
    for worker in cluster.live_workers():
        worker.stop()
    cluster.start_worker("worker-1", TAILOR_TRAINING_HELPERS="1")
    cluster.start_worker("worker-2", TAILOR_TRAINING_HELPERS="1")
    create_model(a, "m6", "noisy")  # trains for its whole budget
    host = worker_of(cluster, "m6")
    model = wait_for(cluster, a, "m6", FINAL, 300)
    assert model["status"] == "succeeded", (model, cluster.logs())
    guest = next(w for w in cluster.live_workers() if w is not host)
    assert "join_training" in guest.output() and " joins m6/attempt-1/" in guest.output(), cluster.logs()
    database = cluster.env["TAILOR_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    study_name = next(name for name in optuna.get_all_study_names(database) if name.startswith("m6/attempt-1/"))
    study = optuna.load_study(study_name=study_name, storage=database)
    # A guest's trial that ended, whole or pruned: both are answers the study weighed (which one depends on the
    # noisy dataset's draw and on how loaded the machine is, so either proves the join).
    joined = [t for t in study.trials if PARTICIPANT in t.user_attrs and t.state.name in ("COMPLETE", "PRUNED")]
    assert joined, [(t.number, t.state, t.user_attrs) for t in study.trials]
    charged = {key: value for key, value in study.user_attrs.items() if key.startswith(SECONDS)}
    assert len(charged) == 2 and all(seconds > 0 for seconds in charged.values()), charged
    # Both workers' device-seconds are billed, once, within the budget.
    assert min(BUDGET_HOURS * 3600, sum(charged.values())) - 2 <= billed_seconds(model) <= BUDGET_HOURS * 3600
    # The candidates the guest left in Tailor's storage went with the training's end.
    container = cluster.env["TAILOR_ARTIFACTS_URL"].rsplit("/", 1)[1]
    assert not [name for name in azurite.names(container) if "-study/" in name]
    assert analyze(b, "m6", _disc((220, 30, 30)))[0]["name"] == "class_0"
