"""`/metrics`: scraped after real requests and parsed as Prometheus parses it; requests counted by route template,
the store's totals, the queue in Redis and the in-process runner's, the model cache; a training key to read it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from arq.constants import in_progress_key_prefix
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tailor.api import create_app
from tailor.api.metrics import UNMATCHED, Metrics
from tailor.enums import ModelKind, ModelStatus
from tailor.models import TrainingParameters
from tailor.predictions.cache import Loaded, ModelCache, ModelKey
from tailor.settings import Settings
from tailor.store import Store
from tailor.workers import InProcessRunner, JobContext

from .conftest import HEADERS, PREDICTION_KEY, TRAINING_KEY, Api, make_settings

REDIS_URL = os.environ.get("TAILOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BEARER = {"Authorization": f"Bearer {TRAINING_KEY}"}


def scrape(client: TestClient, headers: dict[str, str] | None = None) -> list[Sample]:
    response = client.get("/metrics", headers=BEARER if headers is None else headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return [sample for family in text_string_to_metric_families(response.text) for sample in family.samples]


def value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, [s for s in samples if s.name == name])
    return found[0]


def put_model(store: Store, name: str, status: ModelStatus, billed_seconds: float) -> None:
    store.models.insert(name, TrainingParameters("shapes", 1.0, ModelKind.CLASSIFIER), None)
    if status is not ModelStatus.NOT_STARTED:
        assert store.models.move(name, ModelStatus.NOT_STARTED, status, billed_seconds=billed_seconds) is not None


def test_requests_are_counted_by_route_template_and_status(api: Api, settings: Settings) -> None:
    assert api.register("fruit").status_code == 201
    assert api.call("GET", "datasets/fruit").status_code == 200
    assert api.call("GET", "datasets/no-such-dataset").status_code == 404
    assert api.call("GET", "datasets", headers={"Ocp-Apim-Subscription-Key": "wrong"}).status_code == 401
    assert api.client.get("/no/such/path").status_code == 404
    samples = scrape(api.client)

    route = "/computervision/datasets/{name}"
    assert value(samples, "tailor_http_requests_total", method="PUT", route=route, status="201") == 1
    assert value(samples, "tailor_http_requests_total", method="GET", route=route, status="200") == 1
    assert value(samples, "tailor_http_requests_total", method="GET", route=route, status="404") == 1
    # Refused by the gateway before routing, or no route at all: one series each, whatever the path was.
    assert value(samples, "tailor_http_requests_total", route=UNMATCHED, status="401") == 1
    assert value(samples, "tailor_http_requests_total", route=UNMATCHED, status="404") == 1
    assert not any("no-such" in label or "fruit" in label for s in samples for label in s.labels.values())

    latency = "tailor_http_request_duration_seconds"
    assert value(samples, f"{latency}_count", method="GET", route=route) == 2
    assert value(samples, f"{latency}_bucket", method="GET", route=route, le="+Inf") == 2
    assert 0 < value(samples, f"{latency}_sum", method="GET", route=route) < 10
    assert value(samples, "process_resident_memory_bytes") > 0


def test_trainings_running_and_the_budget_billed_come_from_the_store(api: Api, settings: Settings) -> None:
    store = Store.connect(settings.resolved_database_url)  # as a worker elsewhere writes them
    try:
        put_model(store, "training-1", ModelStatus.TRAINING, 12.5)
        put_model(store, "training-2", ModelStatus.TRAINING, 0.0)
        put_model(store, "done", ModelStatus.SUCCEEDED, 30.0)
        put_model(store, "waiting", ModelStatus.NOT_STARTED, 0.0)  # stored, never queued: nothing runs it
        samples = scrape(api.client)
    finally:
        store.close()
    assert value(samples, "tailor_trainings_running") == 2
    assert value(samples, "tailor_budget_billed_seconds") == 42.5
    assert value(samples, "tailor_queue_depth") == 0
    assert value(samples, "tailor_model_cache_hits_total") == 0
    assert value(samples, "tailor_model_cache_misses_total") == 0


def test_metrics_need_a_training_key_unless_made_public(tmp_path: Path, api: Api) -> None:
    client = api.client
    assert client.get("/metrics").status_code == 401
    refused = client.get("/metrics", headers={"Authorization": f"Bearer {PREDICTION_KEY}"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "401"
    assert client.get("/metrics", headers={"Authorization": "Basic " + TRAINING_KEY}).status_code == 401
    assert scrape(client, HEADERS)  # the APIs' own header works too
    (tmp_path / "public").mkdir()
    public = make_settings(tmp_path / "public", f"sqlite:///{tmp_path / 'public.db'}", metrics_public=True)
    with TestClient(create_app(public)) as open_client:
        assert scrape(open_client, {})


@pytest.fixture
def queue_settings(tmp_path: Path) -> Iterator[Settings]:
    queue = f"tailor-test:{uuid.uuid4().hex[:8]}"
    yield make_settings(tmp_path, f"sqlite:///{tmp_path / 'tailor.db'}", redis_url=REDIS_URL, queue_name=queue)
    redis.Redis.from_url(REDIS_URL).delete(queue)


def test_queue_depth_counts_the_jobs_waiting_in_redis(queue_settings: Settings) -> None:
    with TestClient(create_app(queue_settings)) as client:
        api = Api(client, Path(queue_settings.data_roots[0]))
        assert api.register("shapes").status_code == 201
        body = {"trainingParameters": {"trainingDatasetName": "shapes", "timeBudgetInHours": 1}}
        for name in ("m1", "m2"):
            assert api.call("PUT", f"models/{name}", json=body).status_code == 201  # no worker takes them
        assert value(scrape(client), "tailor_queue_depth") == 2
        connection = redis.Redis.from_url(REDIS_URL)
        first = connection.zrange(queue_settings.queue_name, 0, 0)[0].decode()
        connection.set(in_progress_key_prefix + first, b"1", px=60_000)  # what a worker marks when it starts a job
        try:
            assert value(scrape(client), "tailor_queue_depth") == 1
        finally:
            connection.delete(in_progress_key_prefix + first)


def test_the_in_process_runners_queue_is_its_jobs_not_yet_started(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, training_key="k")
    runner = InProcessRunner(settings, JobContext(settings))  # not started: nothing takes the jobs
    runner.enqueue_training("a")
    runner.enqueue_evaluation("a", "e")
    assert runner.queued() == 2


def test_model_cache_hits_and_misses_and_a_source_that_fails(tmp_path: Path) -> None:
    cache: ModelCache[str] = ModelCache(lambda model: Loaded(model.artifact, 1000), max_models=2, max_bytes=10**6)
    key = ModelKey("fruit", "/artifacts/fruit", "v1")
    for _ in range(3):
        cache.get(key)

    def broken_queue() -> int:
        raise ConnectionError("Redis is away")

    store = Store.connect(f"sqlite:///{tmp_path / 'tailor.db'}")
    try:
        text = Metrics(store=store, queue_depth=broken_queue, cache=cache).exposition()[0].decode()
    finally:
        store.close()
    samples = [sample for family in text_string_to_metric_families(text) for sample in family.samples]
    assert value(samples, "tailor_model_cache_hits_total") == 2
    assert value(samples, "tailor_model_cache_misses_total") == 1
    assert value(samples, "tailor_model_cache_models") == 1 and value(samples, "tailor_model_cache_bytes") == 1000
    assert not [s for s in samples if s.name == "tailor_queue_depth"]  # left out; the rest still arrives
    assert value(samples, "tailor_trainings_running") == 0
