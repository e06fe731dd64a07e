"""GET /computervision/models/{name}/export?format=onnx, and the exported file run by samples/onnx_predict.py (numpy,
Pillow and onnxruntime only) answering as analyze does, on the README's walk-through images and on images of other
sizes, aspect ratios and orientations than the models were trained on."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tailor.api import create_app
from tailor.automl.runtime import load_onnx
from tailor.enums import ExportFormat
from tailor.exports import ONNX_FILE, export_location
from tailor.models import ModelStatus
from tests.images import COLOURS, disc, encoded

from .conftest import PREDICTION_KEY, TRAINING_KEY, VERSION
from .test_analyze import add_model, settings_for
from .test_datasets import error_of

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "onnx_predict.py"
TRAINING = {"Ocp-Apim-Subscription-Key": TRAINING_KEY}


@pytest.fixture
def client(tmp_path: Path, shapes_model: Path, boxes_model: Path) -> Iterator[TestClient]:
    settings = settings_for(tmp_path)
    add_model(settings, "shapes", shapes_model)
    add_model(settings, "boxes", boxes_model)
    add_model(settings, "unfinished", shapes_model, ModelStatus.TRAINING)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def export(client: TestClient, name: str, **params: str):
    return client.get(f"/computervision/models/{name}/export", params={"api-version": VERSION, **params},
                      headers=TRAINING)


def analyzed(client: TestClient, path: Path, model: str) -> dict:
    response = client.post("/computervision/imageanalysis:analyze", params={"api-version": VERSION, "model-name": model},
                           headers={"Ocp-Apim-Subscription-Key": PREDICTION_KEY, "Content-Type": "image/jpeg"},
                           content=path.read_bytes())
    assert response.status_code == 200, response.text
    return response.json()


def run_sample(model: Path, images: list[Path]) -> list[dict]:
    done = subprocess.run([sys.executable, str(SAMPLE), str(model), *map(str, images)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def images_unlike_training(folder: Path) -> list[Path]:
    """A wide JPEG, a tall PNG with transparency, and a JPEG whose EXIF turns it a quarter (displayed 90 x 160)."""
    folder.mkdir()
    wide, tall, turned = folder / "wide.jpg", folder / "tall.png", folder / "turned.jpg"
    wide.write_bytes(encoded(disc(COLOURS[0], (300, 110))))
    Image.open(io.BytesIO(encoded(disc(COLOURS[1], (70, 190)), "PNG"))).convert("RGBA").save(tall)
    exif = Image.Exif()
    exif[0x0112] = 6
    disc(COLOURS[2], (160, 90)).save(turned, exif=exif.tobytes())
    return [wide, tall, turned]


def test_a_classifier_exported_and_run_without_tailor_answers_as_analyze(client, tmp_path) -> None:
    response = export(client, "shapes")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    assert 'filename="shapes.onnx"' in response.headers["content-disposition"]
    model = tmp_path / "shapes.onnx"
    model.write_bytes(response.content)
    images = [ROOT / "samples/fruit/images/apple/apple_1.png", *images_unlike_training(tmp_path / "images")]
    for path, printed in zip(images, run_sample(model, images), strict=True):
        served = analyzed(client, path, "shapes")
        assert printed["metadata"] == served["metadata"]
        ours = printed["customModelResult"]["tagsResult"]["values"]
        theirs = served["customModelResult"]["tagsResult"]["values"]
        assert [t["name"] for t in ours] == [t["name"] for t in theirs]
        assert all(abs(a["confidence"] - b["confidence"]) <= 1e-3 for a, b in zip(ours, theirs))
    assert printed["metadata"] == {"width": 90, "height": 160}  # the turned one, as displayed


def test_a_detector_exported_and_run_without_tailor_finds_the_boxes_analyze_finds(client, tmp_path) -> None:
    response = export(client, "boxes")
    assert response.status_code == 200, response.text
    model = tmp_path / "boxes.onnx"
    model.write_bytes(response.content)
    images = [ROOT / "samples/shapes/images/shapes_1.png", ROOT / "samples/shapes/images/shapes_2.png",
              *images_unlike_training(tmp_path / "images")]
    found = 0
    for path, printed in zip(images, run_sample(model, images), strict=True):
        served = analyzed(client, path, "boxes")
        assert printed["metadata"] == served["metadata"]
        ours = printed["customModelResult"]["objectsResult"]["values"]
        theirs = served["customModelResult"]["objectsResult"]["values"]
        assert len(ours) == len(theirs)
        found += len(ours)
        for a, b in zip(ours, theirs):
            assert a["tags"][0]["name"] == b["tags"][0]["name"]
            assert abs(a["tags"][0]["confidence"] - b["tags"][0]["confidence"]) <= 1e-3
            assert all(abs(a["boundingBox"][k] - b["boundingBox"][k]) <= 1 for k in "xywh")
    assert found >= 2  # the walk-through images' shapes at least: boxes were compared, not only empty lists


def test_the_export_is_made_once_and_kept_with_the_model(client) -> None:
    first = export(client, "shapes").content
    services = client.app.state.services
    model = services.models.get("shapes")
    location = export_location("shapes", str(model.artifact), ExportFormat.ONNX)
    assert services.artifacts.read(location, ONNX_FILE) == first
    assert export(client, "shapes", format="ONNX").content == first
    assert client.delete("/computervision/models/shapes", params={"api-version": VERSION},
                         headers=TRAINING).status_code == 204
    assert export(client, "shapes").status_code == 404
    with pytest.raises(Exception, match="(?i)not found|no such"):
        services.artifacts.read(location, ONNX_FILE)


def test_what_cannot_be_exported_is_refused_with_a_reason(client) -> None:
    refused = export(client, "shapes", format="tflite")
    assert refused.status_code == 400 and "onnx" in error_of(refused)["message"]
    unfinished = export(client, "unfinished")
    assert unfinished.status_code == 409 and "can be exported" in error_of(unfinished)["message"]
    assert export(client, "nothing").status_code == 404
    with_prediction_key = client.get("/computervision/models/shapes/export", params={"api-version": VERSION},
                                     headers={"Ocp-Apim-Subscription-Key": PREDICTION_KEY})
    assert with_prediction_key.status_code == 401


def test_the_exported_file_names_its_model(client, tmp_path) -> None:
    path = tmp_path / "boxes.onnx"
    path.write_bytes(export(client, "boxes").content)
    model = load_onnx(path)
    assert model.metadata["tailor.model"] == "boxes" and model.metadata["tailor.kind"] == "Generic-Detector"
