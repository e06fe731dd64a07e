"""imageanalysis:analyze over the wire, with real models trained once per session (tests/trained.py), real image
encoders, the official sample client's PredictionClient against a live server, and a real HTTP server for `url`."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from fastapi.testclient import TestClient
from PIL import Image

os.environ.setdefault("TQDM_DISABLE", "1")
from cognitive_service_vision_model_customization_python_samples import PredictionClient, ResourceType

from tailor.api import create_app
from tailor.models import ModelStatus, TrainingParameters
from tailor.settings import Settings
from tailor.store import Store
from tailor.workers import JobContext
from tests.images import COLOURS, disc, encoded

from .conftest import PREDICTION_KEY, TRAINING_KEY, VERSION, LiveServer, make_settings
from .test_datasets import error_of

ANALYZE = "/computervision/imageanalysis:analyze"
SIZE = (100, 80)  # near the 64 px images the session models learn from, where they are sure of themselves


def add_model(settings: Settings, name: str, artifact: Path, status: ModelStatus = ModelStatus.SUCCEEDED, *,
              landed: bool = False) -> str:
    """Record a model as a worker would: its artifact uploaded to Tailor's storage, its status moved to `status`.
    `landed`: as a Tailor from before the artifact store did, copied under the data directory and recorded by its
    absolute path. Returns what the record holds."""
    if landed:
        location = str(shutil.copytree(artifact, settings.data_dir / "models" / name / "attempt-1"))
    else:
        context = JobContext(settings)
        location = context.artifacts.upload(artifact, context.artifact_name(name, 1))
        context.close()
    store = Store.connect(settings.resolved_database_url)
    try:
        store.models.insert(name, TrainingParameters("shapes", 0.01), None)
        if status is not ModelStatus.NOT_STARTED:
            store.models.move(name, ModelStatus.NOT_STARTED, status, artifact=location)
    finally:
        store.close()
    return location


def settings_for(tmp_path: Path, **overrides) -> Settings:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return make_settings(tmp_path, f"sqlite:///{tmp_path / 'tailor.db'}", **overrides)


class Analyzer:
    def __init__(self, client: TestClient):
        self.client = client

    def __call__(self, body: bytes | None = None, *, model: str | None = "shapes", content_type: str = "image/jpeg",
                 key: str = PREDICTION_KEY, json: dict | None = None, params: dict | None = None):
        query = {"api-version": VERSION, **({"model-name": model} if model else {}), **(params or {})}
        headers = {"Ocp-Apim-Subscription-Key": key}
        if json is not None:
            return self.client.post(ANALYZE, params=query, headers=headers, json=json)
        return self.client.post(ANALYZE, params=query, headers={**headers, "Content-Type": content_type}, content=body)

    @property
    def predictions(self):
        return self.client.app.state.services.predictions


@pytest.fixture
def analyze(tmp_path: Path, shapes_model: Path) -> Iterator[Analyzer]:
    settings = settings_for(tmp_path)
    add_model(settings, "shapes", shapes_model)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Analyzer(client)


def tags(response) -> list[dict]:
    assert response.status_code == 200, response.text
    return response.json()["customModelResult"]["tagsResult"]["values"]


def test_the_sample_client_gets_the_documented_shape_with_the_prediction_key(
    tmp_path: Path, shapes_model: Path
) -> None:
    settings = settings_for(tmp_path)
    add_model(settings, "shapes", shapes_model)
    with LiveServer(settings) as server:
        client = PredictionClient(ResourceType.MULTI_SERVICE_RESOURCE, None, server.url, PREDICTION_KEY)
        for k in range(3):
            result = client.predict("shapes", encoded(disc(COLOURS[k], SIZE)), content_type="image/jpeg")
            assert set(result) == {"modelVersion", "metadata", "customModelResult"}
            assert result["modelVersion"] == VERSION and result["metadata"] == {"width": 100, "height": 80}
            values = result["customModelResult"]["tagsResult"]["values"]
            assert [set(v) for v in values] == [{"name", "confidence"}] * 3
            assert values[0]["name"] == f"class_{k}"
            assert [v["confidence"] for v in values] == sorted((v["confidence"] for v in values), reverse=True)
            assert sorted(v["name"] for v in values) == ["class_0", "class_1", "class_2"]
            assert sum(v["confidence"] for v in values) == pytest.approx(1.0, abs=1e-4)
        png = client.predict("shapes", encoded(disc(COLOURS[1], (64, 64)), "PNG"), content_type="image/png")
        assert png["metadata"] == {"width": 64, "height": 64}
        assert png["customModelResult"]["tagsResult"]["values"][0]["name"] == "class_1"
        # The prediction key calls analyze and nothing else.
        other = requests.get(f"{server.url}/computervision/models", params={"api-version": VERSION},
                             headers={"Ocp-Apim-Subscription-Key": PREDICTION_KEY})
        assert other.status_code == 401


@pytest.mark.parametrize(
    ("content_type", "make"),
    [
        ("image/jpeg", lambda img: encoded(img, "JPEG")),
        ("image/png", lambda img: encoded(img, "PNG")),
        ("image/gif", lambda img: encoded(img, "GIF", save_all=True, append_images=[disc(COLOURS[2], SIZE)])),
        ("image/bmp", lambda img: encoded(img, "BMP")),
        ("image/tiff", lambda img: encoded(img, "TIFF")),
        ("application/octet-stream", lambda img: encoded(img.convert("CMYK"), "JPEG")),
        ("", lambda img: encoded(img, "WEBP")),
    ],
    ids=["jpeg", "png", "animated-gif", "bmp", "tiff", "cmyk-octet-stream", "webp-no-content-type"],
)
def test_every_content_type(analyze: Analyzer, content_type: str, make) -> None:
    response = analyze(make(disc(COLOURS[0], SIZE)), content_type=content_type)
    assert tags(response)[0]["name"] == "class_0"  # a GIF is read from its first (red) frame


def test_an_exif_rotated_photo_reports_its_displayed_size(analyze: Analyzer) -> None:
    exif = Image.Exif()
    exif[0x0112] = 8
    response = analyze(encoded(disc(COLOURS[2], SIZE), "JPEG", exif=exif.tobytes()))
    assert tags(response)[0]["name"] == "class_2"
    assert response.json()["metadata"] == {"width": 80, "height": 100}


def test_a_url_is_read_through_the_address_guard(tmp_path: Path, shapes_model: Path, http_folder) -> None:
    base, folder = http_folder
    (folder / "red.jpg").write_bytes(encoded(disc(COLOURS[0], SIZE)))
    host_port = base.split("//")[1].rstrip("/")
    for allowed in (False, True):
        settings = settings_for(tmp_path / str(allowed), allow_hosts=[host_port] if allowed else [])
        add_model(settings, "shapes", shapes_model)
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            response = Analyzer(client)(json={"url": base + "red.jpg"})
            if allowed:
                assert tags(response)[0]["name"] == "class_0"
                missing = Analyzer(client)(json={"Url": base + "missing.jpg"})
                assert missing.status_code == 400 and error_of(missing)["innererror"]["code"] == "InvalidImageUrl"
                assert "404" in error_of(missing)["message"]
            else:
                assert response.status_code == 400
                error = error_of(response)
                assert error["innererror"]["code"] == "InvalidImageUrl" and "TAILOR_ALLOW_HOSTS" in error["message"]


def test_multilabel_models_give_independent_per_tag_confidences(tmp_path: Path, multilabel_model: Path) -> None:
    settings = settings_for(tmp_path)
    add_model(settings, "tags", multilabel_model)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        values = tags(Analyzer(client)(encoded(disc(COLOURS[0], SIZE)), model="tags"))
    assert sorted(v["name"] for v in values) == ["class_0", "class_1", "class_2"]
    assert values[0]["name"] == "class_0" and all(0.0 <= v["confidence"] <= 1.0 for v in values)
    assert [v["confidence"] for v in values] == sorted((v["confidence"] for v in values), reverse=True)
    assert sum(v["confidence"] for v in values) != pytest.approx(1.0, abs=1e-3)  # sigmoids, not a softmax


BIG_NOISE = Image.effect_noise((2600, 2600), 100).convert("RGB")
JPEG = encoded(disc(COLOURS[0], SIZE))


@pytest.mark.parametrize(
    ("body", "content_type", "status", "inner", "words"),
    [
        (b"not an image", "image/jpeg", 400, "InvalidImageFormat", "cannot be decoded"),
        (JPEG[: len(JPEG) // 2], "image/jpeg", 400, "InvalidImageFormat", "cannot be decoded"),
        (encoded(Image.new("RGB", SIZE), "PPM"), "image/x-portable", 400, "InvalidImageFormat", "not supported"),
        (b"", "image/png", 400, "InvalidImageSize", "empty"),
        (encoded(BIG_NOISE, "PNG"), "image/png", 400, "InvalidImageSize", "6 MB limit"),
        (encoded(disc(COLOURS[0], (49, 120)), "PNG"), "image/png", 400, "InvalidImageDimension", "at least 50 px"),
        (encoded(Image.new("L", (16_001, 60)), "PNG"), "image/tiff", 400, "InvalidImageDimension", "16,000"),
        (encoded(Image.new("L", (9_000, 9_000)), "PNG"), "image/png", 400, "InvalidImageDimension", "megapixels"),
        (b"hello", "text/plain", 415, "UnsupportedMediaType", "Content-Type"),
    ],
    ids=["garbage", "truncated", "ppm", "empty", "over-6mb", "too-small", "too-wide", "bomb", "text-plain"],
)
def test_bad_images_are_refused_with_the_documented_errors(
    analyze: Analyzer, body: bytes, content_type: str, status: int, inner: str, words: str
) -> None:
    response = analyze(body, content_type=content_type)
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["code"] == "InvalidRequest" and error["innererror"]["code"] == inner and words in error["message"]
    assert response.headers["x-ms-error-code"] == "InvalidRequest"
    assert tags(analyze(encoded(disc(COLOURS[1], SIZE))))[0]["name"] == "class_1"  # bad input changed nothing


def test_request_errors(analyze: Analyzer, tmp_path: Path, shapes_model: Path) -> None:
    image = encoded(disc(COLOURS[0], SIZE))
    missing = analyze(image, model=None)
    assert missing.status_code == 400
    assert error_of(missing)["message"] == (
        "Either 'features' or 'model-name' needs to be specified in the query parameter."
    )
    features = analyze(image, model=None, params={"features": "tags"})
    assert features.status_code == 400 and "model-name" in error_of(features)["message"]
    unknown = analyze(image, model="nope")
    assert unknown.status_code == 404 and error_of(unknown)["code"] == "ModelNotFound"
    assert analyze(image, key="wrong").status_code == 401
    assert analyze(image, params={"api-version": "2022-01-01"}).status_code == 400
    bad_json = analyze(json={"link": "http://example.com/a.jpg"})
    assert bad_json.status_code == 400 and error_of(bad_json)["innererror"]["code"] == "InvalidImageUrl"
    local = analyze(json={"url": str(tmp_path / "a.jpg")})
    assert local.status_code == 400 and "http(s)" in error_of(local)["message"]
    # A training key may analyze too.
    assert tags(analyze(image, key=TRAINING_KEY))[0]["name"] == "class_0"


@pytest.mark.parametrize("status", [ModelStatus.NOT_STARTED, ModelStatus.TRAINING, ModelStatus.FAILED,
                                    ModelStatus.CANCELLED])
def test_a_model_that_has_not_succeeded_is_a_409(tmp_path: Path, shapes_model: Path, status: ModelStatus) -> None:
    settings = settings_for(tmp_path, preload_models=0)
    add_model(settings, "pending", shapes_model, status)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        analyzer = Analyzer(client)
        response = analyzer(encoded(disc(COLOURS[0], SIZE)), model="pending")
        assert response.status_code == 409 and error_of(response)["code"] == "Conflict"
        assert status.value in error_of(response)["message"]
        assert analyzer.predictions.cache.loads == 0


def test_concurrent_first_requests_load_the_model_once(tmp_path: Path, shapes_model: Path) -> None:
    settings = settings_for(tmp_path, preload_models=0)
    add_model(settings, "shapes", shapes_model)  # before the start: not preloaded, not "newly succeeded"
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        analyzer = Analyzer(client)
        assert analyzer.predictions.cache.names() == []
        images = [encoded(disc(COLOURS[k % 3], SIZE)) for k in range(8)]
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(analyzer, images))
        assert [tags(r)[0]["name"] for r in responses] == [f"class_{k % 3}" for k in range(8)]
        assert analyzer.predictions.cache.loads == 1
        assert analyzer.predictions.batcher.batched == 8


def test_a_deleted_model_answers_404_and_leaves_the_cache(analyze: Analyzer) -> None:
    image = encoded(disc(COLOURS[0], SIZE))
    assert tags(analyze(image))[0]["name"] == "class_0"
    assert "shapes" in analyze.predictions.cache.names()
    deleted = analyze.client.delete("/computervision/models/shapes", params={"api-version": VERSION},
                                    headers={"Ocp-Apim-Subscription-Key": TRAINING_KEY})
    assert deleted.status_code == 204
    assert analyze.predictions.cache.names() == []
    gone = analyze(image)
    assert gone.status_code == 404 and error_of(gone)["code"] == "ModelNotFound"


def test_preloaded_at_start_most_recently_used_first_and_when_training_succeeds(
    tmp_path: Path, shapes_model: Path
) -> None:
    settings = settings_for(tmp_path, preload_models=1)
    for name in ("old", "used"):
        add_model(settings, name, shapes_model)
    add_model(settings, "later", shapes_model, ModelStatus.TRAINING)
    image = encoded(disc(COLOURS[0], SIZE))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert tags(Analyzer(client)(image, model="used"))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:  # a restart
        predictions = Analyzer(client).predictions
        assert predictions.cache.names() == ["used"] and predictions.cache.loads == 1  # loaded before serving
        tags(Analyzer(client)(image, model="used"))
        assert predictions.cache.loads == 1
        # A worker (here: this test, as a worker would) records that a training succeeded: the model is preloaded.
        store = Store.connect(settings.resolved_database_url)
        store.models.move("later", ModelStatus.TRAINING, ModelStatus.SUCCEEDED)
        store.close()
        deadline = time.monotonic() + 20
        while "later" not in predictions.cache.names():
            assert time.monotonic() < deadline, "the newly succeeded model was not preloaded"
            time.sleep(0.1)
        tags(Analyzer(client)(image, model="later"))
        assert predictions.cache.loads == 2


def test_a_model_of_a_landed_database_is_served_from_its_folder(tmp_path: Path, shapes_model: Path) -> None:
    """A database of a Tailor from before the artifact store holds the absolute path of each model's folder, its
    report inside: it keeps serving, and deleting the model deletes that folder."""
    from tailor.reports import write_report
    from tests.reports.builders import animals

    settings = settings_for(tmp_path)
    folder = Path(add_model(settings, "old", shapes_model, landed=True))
    write_report(folder / "report", animals(), title="held-out images", performance={"accuracyTop1": 0.5})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        analyze = Analyzer(client)
        assert tags(analyze(encoded(disc(COLOURS[1], SIZE)), model="old"))[0]["name"] == "class_1"
        headers = {"Ocp-Apim-Subscription-Key": TRAINING_KEY}
        report = client.get("/computervision/models/old/report.json", params={"api-version": VERSION},
                            headers=headers)
        assert report.status_code == 200 and report.json()["title"] == "held-out images"
        plot = client.get(f"/computervision/models/old/report/{report.json()['files'][0]}",
                          params={"api-version": VERSION}, headers=headers)
        assert plot.status_code == 200 and plot.content == (folder / "report" / report.json()["files"][0]).read_bytes()
        # used where it is: no copy of it (only of its ONNX export, kept in Tailor's storage, when analyze runs that)
        copies = [json.loads((p / ".manifest.json").read_text())["name"]
                  for p in (settings.data_dir / "cache" / "artifacts").glob("*") if p.is_dir()]
        assert all(name.startswith("models/old/exports/") for name in copies), copies
        deleted = client.delete("/computervision/models/old", params={"api-version": VERSION}, headers=headers)
        assert deleted.status_code == 204
    assert not folder.parent.exists()


def test_the_local_copies_keep_to_their_bound(tmp_path: Path, shapes_model: Path) -> None:
    # Each copy of the session's model is bigger than 1 MB: only the one used last stays. On torch: a model served
    # on ONNX Runtime reads its export from the storage, not a local copy of its artifact.
    settings = settings_for(tmp_path, artifact_cache_mb=1, preload_models=0, runtime="torch")
    for name in ("first", "second"):
        add_model(settings, name, shapes_model)
    cache = settings.data_dir / "cache" / "artifacts"
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        analyze = Analyzer(client)
        for name in ("first", "second", "first"):
            analyze.predictions.forget(name)  # out of memory: loaded again, from its copy on disk
            assert tags(analyze(encoded(disc(COLOURS[0], SIZE)), model=name))[0]["name"] == "class_0"
            copies = [json.loads((p / ".manifest.json").read_text())["name"] for p in cache.iterdir() if p.is_dir()]
            assert copies == [client.app.state.services.models.get(name).artifact]


@pytest.mark.slow
def test_an_operator_backbone_set_on_the_worker_trains_and_analyze_prepares_images_as_training_did(
    tmp_path: Path, weights_dir: Path
) -> None:
    """TAILOR_BACKBONES on the worker's host: a ViT that takes 384 px (random weights the test writes) joins the
    bundled backbones, the training keeps its images at 384 px on their shorter side and records it,
    and analyze over REST prepares a large photograph at that side too: it answers exactly what the model gives the
    image so prepared."""
    import timm
    import torch
    from safetensors.torch import save_file

    from tailor.automl.backbones import available_backbones
    from tailor.automl.images import prepare_image
    from tailor.automl.predictor import Predictor
    from tailor.blobs import Access
    from tailor.coco import AnnotationKind
    from tailor.datasets import DatasetSpec
    from tailor.models import ModelKind
    from tailor.workers import run_training
    from tests.images import shapes_dataset

    arch = "vit_small_patch32_384"
    torch.manual_seed(0)
    weights_file = tmp_path / "vit.safetensors"
    save_file({k: v.contiguous() for k, v in timm.create_model(arch).state_dict().items()}, str(weights_file))
    settings = settings_for(tmp_path / "host", backbones=f"{arch}={weights_file}")
    shutil.copytree(weights_dir, settings.data_dir / "weights")  # the bundled ones, converted already: reused
    worker = JobContext(settings)
    data = shapes_dataset(tmp_path / "host" / "datasets" / "shapes", classes=3, per_class=4)
    worker.store.datasets.insert("shapes", DatasetSpec(AnnotationKind.CLASSIFICATION, (str(data),), {}, Access()))
    worker.store.models.insert("vit", TrainingParameters("shapes", 0.01, ModelKind.CLASSIFIER), None)
    assert run_training("vit", worker) is ModelStatus.SUCCEEDED
    assert arch in {b.name for b in available_backbones(worker.weights_dir)}  # converted, beside the bundled ones
    artifact = worker.store.models.get("vit").artifact
    with worker.artifacts.local_copy(artifact) as folder:
        config = json.loads((Path(folder) / "config.json").read_text())
        predictor = Predictor.load(Path(folder), device="cpu")
    worker.close()
    assert config["keep_side"] == 384  # the ViT's resize (crop 1.0), above the bundled backbones' 320

    photo = disc(COLOURS[1], (1200, 900))
    expected = predictor.probabilities([prepare_image(photo, 384)])[0]
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        values = tags(Analyzer(client)(encoded(photo, "PNG"), model="vit", content_type="image/png"))
    answered = {v["name"]: v["confidence"] for v in values}
    assert answered == pytest.approx(dict(zip(predictor.class_names, expected.tolist())), abs=1e-5)
