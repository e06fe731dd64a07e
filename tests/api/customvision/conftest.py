"""A live Tailor for the official Custom Vision SDK: a real HTTP server (uvicorn), Tailor's storage in a real Azurite
container, SQLite or PostgreSQL for metadata; and pictures the quickstarts' file names can stand for."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from azure.cognitiveservices.vision.customvision.prediction import CustomVisionPredictionClient
from azure.cognitiveservices.vision.customvision.training import CustomVisionTrainingClient
from msrest.authentication import ApiKeyCredentials
from PIL import Image, ImageDraw

from tests.api.conftest import PREDICTION_KEY, TRAINING_KEY, LiveServer, make_settings
from tests.databases import empty_database_url

# Small budgets: enough for AutoML to finish a model on a few dozen drawn images on 2 cores.
CLASSIFIER_BUDGET_HOURS = 0.006
DETECTOR_BUDGET_HOURS = 0.04


class Tailor:
    def __init__(self, server: LiveServer, container: str):
        self.server = server
        self.url = server.url
        self.container = container

    def trainer(self, key: str = TRAINING_KEY) -> CustomVisionTrainingClient:
        return CustomVisionTrainingClient(self.url, ApiKeyCredentials(in_headers={"Training-key": key}))

    def predictor(self, key: str = PREDICTION_KEY) -> CustomVisionPredictionClient:
        return CustomVisionPredictionClient(self.url, ApiKeyCredentials(in_headers={"Prediction-key": key}))


def live_tailor(tmp_path: Path, azurite, database: str, budget_hours: float) -> Iterator[Tailor]:
    container = f"tailor-{uuid.uuid4().hex[:12]}"
    settings = make_settings(
        tmp_path, database, allow_hosts=[azurite.host_port], storage_connection_string=azurite.connection_string,
        storage_container=container, default_budget_hours=budget_hours,
    )
    with LiveServer(settings) as server:
        yield Tailor(server, container)


@pytest.fixture
def tailor(tmp_path: Path, azurite) -> Iterator[Tailor]:
    """On SQLite, with a classifier's default budget."""
    yield from live_tailor(tmp_path, azurite, f"sqlite:///{tmp_path / 'tailor.db'}", CLASSIFIER_BUDGET_HOURS)


@pytest.fixture(params=["sqlite", "postgresql"])
def tailor_on(request: pytest.FixtureRequest, tmp_path: Path, azurite) -> Iterator[Tailor]:
    """On SQLite and on PostgreSQL."""
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgresql" else ""
    database = empty_database_url(request.param, tmp_path, postgres)
    yield from live_tailor(tmp_path, azurite, database, CLASSIFIER_BUDGET_HOURS)


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    import io

    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def tree(kind: str, seed: int, size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A picture of one of two kinds of tree a classifier can tell apart: a dark green conifer ("hemlock") or a
    round pink crown ("cherry"), on a sky of varying blue."""
    rng = random.Random(seed)
    width, height = size
    image = Image.new("RGB", size, (rng.randint(120, 170), rng.randint(170, 210), rng.randint(220, 255)))
    draw = ImageDraw.Draw(image)
    cx = rng.randint(width // 3, 2 * width // 3)
    draw.rectangle((cx - 4, height * 2 // 3, cx + 4, height - 1), fill=(90, 60, 30))
    if kind == "hemlock":
        draw.polygon([(cx, rng.randint(5, 20)), (cx - width // 4, height * 3 // 4), (cx + width // 4, height * 3 // 4)],
                     fill=(20, rng.randint(80, 110), 40))
    else:
        r = rng.randint(height // 4, height // 3)
        draw.ellipse((cx - r, height // 2 - r, cx + r, height // 2 + r), fill=(235, rng.randint(140, 180), 200))
    return image


def tool_scene(kind: str, seed: int, size: tuple[int, int] = (160, 120)) -> tuple[Image.Image, tuple[float, ...]]:
    """A picture with one drawn object ("fork": a tall orange bar; "scissors": a blue ring) and its region, as
    fractions (left, top, width, height)."""
    rng = random.Random(seed)
    width, height = size
    image = Image.effect_noise(size, 25).convert("RGB")
    image = Image.blend(image, Image.new("RGB", size, (200, 200, 190)), 0.6)
    draw = ImageDraw.Draw(image)
    w, h = (rng.randint(14, 22), rng.randint(50, 80)) if kind == "fork" else (rng.randint(36, 50),) * 2
    left, top = rng.randint(0, width - w - 1), rng.randint(0, height - h - 1)
    if kind == "fork":
        draw.rectangle((left, top, left + w - 1, top + h - 1), fill=(230, 120, 20))
    else:
        draw.ellipse((left, top, left + w - 1, top + h - 1), outline=(30, 60, 200), width=7)
    return image, (left / width, top / height, w / width, h / height)


ImageFolder = Callable[[str], Path]
