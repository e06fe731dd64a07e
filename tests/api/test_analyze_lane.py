"""The analyze lane (tailor/api/analyze_lane.py) answers an image's bytes without FastAPI's route, exactly as the
route would: the same statuses, bodies and error headers, counted under the same route template."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tailor.api import create_app, deps
from tailor.api.analyze_lane import AnalyzeLane
from tailor.enums import ModelStatus
from tests.images import COLOURS, disc, encoded

from .conftest import PREDICTION_KEY, TRAINING_KEY, VERSION
from .test_analyze import ANALYZE, SIZE, add_model, settings_for
from .test_metrics import BEARER, value

IMAGE = encoded(disc(COLOURS[2], SIZE))
CALLS = {
    "an image": {"body": IMAGE},
    "an image, no media type": {"body": IMAGE, "content_type": None},
    "an image as octet-stream": {"body": IMAGE, "content_type": "application/octet-stream"},
    "with the training key": {"body": IMAGE, "key": TRAINING_KEY},
    "not an image": {"body": b"not an image"},
    "empty": {"body": b""},
    "declared over 6 MB": {"body": IMAGE, "headers": {"Content-Length": str(7 * 1024 * 1024)}},
    "an unknown model": {"body": IMAGE, "model": "nope"},
    "a model still training": {"body": IMAGE, "model": "pending"},
    "a name that cannot be a model's": {"body": IMAGE, "model": "no such/name!"},
    "a URL": {"json": {"url": "ftp://example.com/a.jpg"}},
    "no model name": {"body": IMAGE, "model": None},
    "features": {"body": IMAGE, "params": {"features": "tags"}},
    "text": {"body": b"hello", "content_type": "text/plain"},
}


@contextmanager
def client(tmp_path: Path, shapes_model: Path, *, lane: bool) -> Iterator[TestClient]:
    settings = settings_for(tmp_path)
    add_model(settings, "shapes", shapes_model)
    add_model(settings, "pending", shapes_model, ModelStatus.TRAINING)
    app = create_app(settings)
    if not lane:  # before the first request, which builds the middleware stack
        app.user_middleware[:] = [m for m in app.user_middleware if m.cls is not AnalyzeLane]
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def call(client: TestClient, body: bytes | None = None, *, model: str | None = "shapes", key: str = PREDICTION_KEY,
         content_type: str | None = "image/jpeg", params: dict | None = None, headers: dict | None = None,
         json: dict | None = None):
    query = {"api-version": VERSION, **({"model-name": model} if model else {}), **(params or {})}
    sent = {"Ocp-Apim-Subscription-Key": key, **({"Content-Type": content_type} if content_type else {}),
            **(headers or {})}
    if json is not None:
        return client.post(ANALYZE, params=query, headers={"Ocp-Apim-Subscription-Key": key}, json=json)
    return client.post(ANALYZE, params=query, headers=sent, content=body)


def answers(client: TestClient) -> dict[str, tuple]:
    found = {}
    for name, arguments in CALLS.items():
        response = call(client, **arguments)
        shown = {k: v for k, v in response.headers.items() if k in ("content-type", "x-ms-error-code")}
        found[name] = (response.status_code, response.json(), shown)
    return found


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory, shapes_model: Path) -> dict[str, tuple]:
    with client(tmp_path_factory.mktemp("routed"), shapes_model, lane=False) as routed_client:
        return answers(routed_client)


def test_the_lane_answers_as_the_route_does(tmp_path: Path, shapes_model: Path, routed: dict[str, tuple]) -> None:
    with client(tmp_path, shapes_model, lane=True) as lane_client:
        laned = answers(lane_client)
    assert routed["an image"][0] == 200 and routed["an image"][1]["customModelResult"]["tagsResult"]["values"]
    assert {routed[name][0] for name in CALLS} == {200, 400, 404, 409, 415}  # the calls cover each kind of answer
    for name in CALLS:
        assert laned[name] == routed[name], name


def test_an_image_never_reaches_the_route_and_the_rest_does(tmp_path: Path, shapes_model: Path) -> None:
    with client(tmp_path, shapes_model, lane=True) as lane_client:
        app: FastAPI = lane_client.app  # type: ignore[assignment]

        async def no_route():
            raise AssertionError("the route was called")

        # The route reaches the prediction service through this dependency; the lane does not.
        app.dependency_overrides[deps.predictions] = no_route
        assert call(lane_client, IMAGE).status_code == 200
        assert call(lane_client, b"not an image").status_code == 400
        assert call(lane_client, IMAGE, model="nope").status_code == 404
        # The rest goes on to the route (whose dependency now fails, as a 500).
        assert call(lane_client, json={"url": "http://example.com/a.jpg"}).status_code == 500
        assert call(lane_client, b"hello", content_type="text/plain").status_code == 500


def test_the_lane_counts_its_calls_under_the_route_template(tmp_path: Path, shapes_model: Path) -> None:
    with client(tmp_path, shapes_model, lane=True) as lane_client:
        call(lane_client, IMAGE)
        call(lane_client, IMAGE, model="nope")
        text = lane_client.get("/metrics", headers=BEARER).text
    samples = [s for family in text_string_to_metric_families(text) for s in family.samples]
    for status in ("200", "404"):
        assert value(samples, "tailor_http_requests_total", method="POST", route=ANALYZE, status=status) == 1
