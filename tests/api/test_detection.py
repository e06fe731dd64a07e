"""Generic-Detector over the wire: trained, queried and evaluated with the official sample clients, unmodified;
analyze's objectsResult with boxes in the input image's own pixels."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

os.environ.setdefault("TQDM_DISABLE", "1")
from cognitive_service_vision_model_customization_python_samples import (
    AnnotationKind,
    Dataset,
    DatasetClient,
    Evaluation,
    EvaluationClient,
    EvaluationStatus,
    Model,
    ModelKind,
    ModelStatus,
    PredictionClient,
    ResourceType,
    TrainingClient,
    TrainingParameters,
)

from tailor.api import create_app
from tests.images import boxes_dataset, draw_shape, encoded

from .conftest import PREDICTION_KEY, TRAINING_KEY, LiveServer
from .test_analyze import ANALYZE, add_model, settings_for


def scene(size: tuple[int, int], kind: int, box: tuple[int, int, int, int]) -> Image.Image:
    image = Image.effect_noise(size, 30).convert("RGB")
    image = Image.blend(image, Image.new("RGB", size, (120, 130, 120)), 0.5)
    draw_shape(ImageDraw.Draw(image), kind, box)
    return image


def iou(found: dict, box: tuple[int, int, int, int]) -> float:
    b = found["boundingBox"]
    a = (b["x"], b["y"], b["x"] + b["w"], b["y"] + b["h"])
    drawn = (box[0], box[1], box[2] + 1, box[3] + 1)
    inter = max(0, min(a[2], drawn[2]) - max(a[0], drawn[0])) * max(0, min(a[3], drawn[3]) - max(a[1], drawn[1]))
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])
    return inter / (area(a) + area(drawn) - inter)


@pytest.fixture
def client(tmp_path: Path, boxes_model: Path):
    settings = settings_for(tmp_path)
    add_model(settings, "boxes", boxes_model)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def analyze(client: TestClient, image: Image.Image) -> dict:
    response = client.post(ANALYZE, params={"api-version": "2023-04-01-preview", "model-name": "boxes"},
                           headers={"Ocp-Apim-Subscription-Key": PREDICTION_KEY, "Content-Type": "image/jpeg"},
                           content=encoded(image))
    assert response.status_code == 200, response.text
    return response.json()


def scaled_scene(size: tuple[int, int], kind: int, rng: np.random.Generator):
    """A scene drawn at the training images' scale (120 px high or wide), then enlarged to `size`: the texture and
    the shape look as in training, and the box must come back in the large image's pixels."""
    k = 120 / min(size)
    base = (round(size[0] * k), round(size[1] * k))
    side = min(base) // 4
    left, top = int(rng.integers(0, base[0] - side)), int(rng.integers(0, base[1] - side))
    image = scene(base, kind, (left, top, left + side - 1, top + side - 1)).resize(size, Image.BILINEAR)
    box = (round(left / k), round(top / k), round((left + side) / k) - 1, round((top + side) / k) - 1)
    return image, box


def test_boxes_are_integer_pixels_of_the_input_whatever_its_size(client: TestClient) -> None:
    rng = np.random.default_rng(5)
    landed = 0
    for k, size in enumerate([(1600, 1200), (300, 220), (900, 1400), (1000, 500)]):
        image, box = scaled_scene(size, k % 2, rng)
        body = analyze(client, image)
        assert body["metadata"] == {"width": size[0], "height": size[1]}
        assert set(body["customModelResult"]) == {"objectsResult"}
        values = body["customModelResult"]["objectsResult"]["values"]
        confidences = [v["tags"][0]["confidence"] for v in values]
        assert confidences == sorted(confidences, reverse=True) and all(c >= 0.3 for c in confidences)
        for value in values:
            b = value["boundingBox"]
            assert all(isinstance(b[key], int) for key in "xywh")
            assert 0 <= b["x"] and b["x"] + b["w"] <= size[0] and 0 <= b["y"] and b["y"] + b["h"] <= size[1]
        if values and values[0]["tags"][0]["name"] == ("disc", "square")[k % 2]:
            landed += iou(values[0], box) >= 0.5
    assert landed >= 3, f"{landed} of 4 drawn shapes found where they are"


def test_an_image_without_objects_gives_an_empty_list(client: TestClient) -> None:
    # The background of the training images (negatives among them), without a shape.
    empty = Image.blend(Image.effect_noise((320, 240), 30).convert("RGB"), Image.new("RGB", (320, 240), (120, 130, 120)), 0.5)
    assert analyze(client, empty)["customModelResult"]["objectsResult"]["values"] == []


@pytest.mark.slow
def test_train_query_evaluate_and_predict_with_the_sample_clients(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    root = Path(settings.data_roots[0])
    train, _ = boxes_dataset(root / "train", classes=2, per_class=10, negatives=2)
    test, _ = boxes_dataset(root / "test", classes=2, per_class=4, seed=8)
    with LiveServer(settings) as live:
        args = (ResourceType.MULTI_SERVICE_RESOURCE, None, live.url, TRAINING_KEY)
        datasets = DatasetClient(*args)
        datasets.register_dataset(Dataset("boxes", AnnotationKind.OBJECT_DETECTION, [str(train)]))
        datasets.register_dataset(Dataset("boxes-test", AnnotationKind.OBJECT_DETECTION, [str(test)]))
        training = TrainingClient(*args)
        started = training.train_model(Model("finder", TrainingParameters("boxes", 0.02, ModelKind.GENERIC_OD)))
        assert started.status is ModelStatus.NOT_STARTED and started.training_params.model_kind is ModelKind.GENERIC_OD
        done = training.wait_for_training_completion("finder", check_wait_in_secs=1)
        assert done.status is ModelStatus.SUCCEEDED, done.error
        performance = done.model_performance
        assert {"meanAveragePrecision30", "meanAveragePrecision50", "meanAveragePrecision75"} <= set(performance)
        assert performance["meanAveragePrecision30"] >= performance["meanAveragePrecision50"] >= performance[
            "meanAveragePrecision75"]
        assert set(performance["tagPerformance"]) == {"disc", "square"}
        assert done.training_cost_in_minutes <= 0.02 * 60

        evaluations = EvaluationClient(*args)
        evaluations.evaluate(Evaluation("on-test", "finder", "boxes-test"))
        measured = evaluations.wait_for_completion("on-test", "finder", check_wait_in_secs=1)
        assert measured.status is EvaluationStatus.SUCCEEDED, measured.error
        assert measured.model_performance["meanAveragePrecision50"] >= 0.3, measured.model_performance

        box = (100, 60, 219, 179)
        answer = PredictionClient(ResourceType.MULTI_SERVICE_RESOURCE, None, live.url, PREDICTION_KEY).predict(
            "finder", encoded(scene((480, 360), 1, box))
        )
        found = answer["customModelResult"]["objectsResult"]["values"]
        squares = [f for f in found if f["tags"][0]["name"] == "square"]
        assert squares and max(iou(f, box) for f in squares[:3]) >= 0.5, found
