"""Evaluations over the wire (API.md, Evaluations), and the reports of evaluations and trained models, with the
session's trained model (tests/trained.py) recorded as a worker would and the in-process runner evaluating it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tailor.api import create_app
from tailor.evaluations import EvaluationStatus
from tailor.models import TrainingParameters
from tailor.settings import Settings
from tailor.store import Store

from .conftest import Api
from .test_analyze import add_model, settings_for
from .test_datasets import error_of
from .test_models import FINAL, model_body, poll, register_shapes, wait_for

EVALUATION_FINAL = {"succeeded", "failed"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path)


@pytest.fixture
def api(settings: Settings, shapes_model: Path) -> Iterator[Api]:
    add_model(settings, "m", shapes_model)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        api = Api(client, Path(settings.data_roots[0]))
        register_shapes(api, "test", classes=3, per_class=3, seed=9)
        yield api


def wait_for_evaluation(api: Api, model: str, name: str, timeout: float = 120) -> dict:
    return poll(api, f"models/{model}/evaluations/{name}", EVALUATION_FINAL, timeout)


def evaluate(api: Api, name: str = "e", dataset: str = "test", model: str = "m"):
    return api.call("PUT", f"models/{model}/evaluations/{name}",
                    json={"evaluationParameters": {"testDatasetName": dataset}})


def test_evaluate_read_list_report_and_delete(api: Api, settings: Settings) -> None:
    created = evaluate(api)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "notStarted" and body["name"] == "e" and body["modelName"] == "m"
    assert body["evaluationParameters"] == {"testDatasetName": "test"}
    assert body["createdDateTime"].endswith("Z") and "modelPerformance" not in body

    done = wait_for_evaluation(api, "m", "e")
    assert done["status"] == "succeeded" and "error" not in done
    performance = done["modelPerformance"]
    assert performance["accuracyTop1"] >= 0.9 and performance["imagesEvaluated"] == 9
    assert set(performance["tagPerformance"]) == {"class_0", "class_1", "class_2"}
    assert {"accuracyTop5", "averagePrecision", "calibrationECE"} <= set(performance)

    page = api.call("GET", "models/m/evaluations").json()
    assert [e["name"] for e in page["value"]] == ["e"] and "nextLink" not in page

    html = api.call("GET", "models/m/evaluations/e/report")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert 'src="data:image/png;base64,' in html.text and "class_2" in html.text
    described = api.call("GET", "models/m/evaluations/e/report.json").json()
    assert described["imageCount"] == 9 and described["files"]
    plot = api.call("GET", f"models/m/evaluations/e/report/{described['files'][0]}")
    assert plot.status_code == 200 and plot.headers["content-type"] in ("image/png", "image/jpeg")
    for bad in ("report.json", "..%2F..%2Ftailor.db", "nothing.png"):
        assert api.call("GET", f"models/m/evaluations/e/report/{bad}").status_code == 404

    report = Store.connect(settings.resolved_database_url).evaluations.get("m", "e").report
    storage = settings.data_dir / "storage"  # Tailor's storage on the embedded default
    assert report == "models/m/evaluations/e/attempt-1/report" and (storage / report / "report.json").is_file()
    assert api.call("DELETE", "models/m/evaluations/e").status_code == 204
    gone = api.call("GET", "models/m/evaluations/e")
    assert gone.status_code == 404 and error_of(gone)["code"] == "EvaluationNotFound"
    assert not (storage / "models" / "m" / "evaluations" / "e").exists()


def test_page_through_evaluations(api: Api) -> None:
    for k in range(3):
        assert evaluate(api, f"e{k}").status_code == 201
    first = api.call("GET", "models/m/evaluations", params={"top": 2}).json()
    assert [e["name"] for e in first["value"]] == ["e0", "e1"] and "skip=2" in first["nextLink"]
    second = api.call("GET", "models/m/evaluations", params={"top": 2, "skip": 2}).json()
    assert [e["name"] for e in second["value"]] == ["e2"] and "nextLink" not in second
    for k in range(3):
        wait_for_evaluation(api, "m", f"e{k}")


def test_refused_at_once(api: Api, settings: Settings) -> None:
    unknown_model = evaluate(api, model="nope")
    assert unknown_model.status_code == 404 and error_of(unknown_model)["code"] == "ModelNotFound"
    unknown_dataset = evaluate(api, dataset="nope")
    assert unknown_dataset.status_code == 400
    assert error_of(unknown_dataset)["target"] == "evaluationParameters.testDatasetName"
    assert api.register("boxes", kind="imageObjectDetection").status_code == 201
    boxes = evaluate(api, dataset="boxes")
    assert boxes.status_code == 400 and error_of(boxes)["innererror"]["code"] == "IncorrectModelKind"
    assert "imageObjectDetection" in error_of(boxes)["message"]
    assert evaluate(api, name="bad name!").status_code == 400
    missing = api.call("PUT", "models/m/evaluations/x", json={"evaluationParameters": {}})
    assert missing.status_code == 400 and "testDatasetName" in error_of(missing)["message"]

    assert evaluate(api).status_code == 201
    again = evaluate(api)
    assert again.status_code == 409 and error_of(again)["code"] == "EvaluationAlreadyExists"
    wait_for_evaluation(api, "m", "e")

    store = Store.connect(settings.resolved_database_url)
    store.models.insert("training", TrainingParameters("test", 0.01), None)  # not started: nothing to evaluate yet
    not_ready = evaluate(api, model="training")
    assert not_ready.status_code == 409 and "only a succeeded model" in error_of(not_ready)["message"]
    assert api.call("GET", "models/nope/evaluations").status_code == 404
    assert api.call("DELETE", "models/m/evaluations/nope").status_code == 404


def test_running_evaluations_hold_their_model(api: Api, settings: Settings) -> None:
    store = Store.connect(settings.resolved_database_url)
    store.evaluations.insert("m", "busy", "test")
    store.evaluations.move("m", "busy", EvaluationStatus.NOT_STARTED, EvaluationStatus.RUNNING, attempt=1)
    busy = api.call("DELETE", "models/m/evaluations/busy")
    assert busy.status_code == 409 and error_of(busy)["code"] == "Conflict"
    held = api.call("DELETE", "models/m")
    assert held.status_code == 409 and "'busy'" in error_of(held)["message"]
    store.evaluations.move("m", "busy", EvaluationStatus.RUNNING, EvaluationStatus.FAILED)
    assert api.call("DELETE", "models/m").status_code == 204


def test_deleting_a_model_deletes_its_evaluations_and_their_reports(
    api: Api, settings: Settings, shapes_model: Path
) -> None:
    assert evaluate(api).status_code == 201
    assert wait_for_evaluation(api, "m", "e")["status"] == "succeeded"
    folder = settings.data_dir / "storage" / "models" / "m"
    assert any(folder.rglob("report.json"))
    assert api.call("DELETE", "models/m").status_code == 204
    assert not folder.exists()
    assert Store.connect(settings.resolved_database_url).evaluations.unfinished() == []
    add_model(settings, "m", shapes_model)  # a new model of the same name starts with no evaluations
    assert api.call("GET", "models/m/evaluations").json()["value"] == []


def test_a_test_dataset_named_at_training_gives_the_reported_figures(api: Api) -> None:
    register_shapes(api, "train", classes=3, per_class=4)
    body = model_body("train", 0.01, evaluationParameters={"testDatasetName": "test"})
    assert api.call("PUT", "models/t", json=body).status_code == 201
    model = wait_for(api, "t", FINAL, timeout=180)
    assert model["status"] == "succeeded", model
    assert model["modelPerformance"]["imagesEvaluated"] == 9  # the test set's nine images, not the training set's
    held_out = model["trainingProgress"]["validationPerformance"]
    assert "imagesEvaluated" not in held_out and set(held_out["tagPerformance"]) == {"class_0", "class_1", "class_2"}
    report = api.call("GET", "models/t/report.json").json()
    assert "'test'" in report["title"] and report["imageCount"] == 9


def test_a_model_trained_without_a_test_dataset_reports_on_its_held_out_images(api: Api) -> None:
    register_shapes(api, "train", classes=3, per_class=4)
    assert api.call("PUT", "models/t", json=model_body("train", 0.01)).status_code == 201
    model = wait_for(api, "t", FINAL, timeout=180)
    assert model["status"] == "succeeded", model
    report = api.call("GET", "models/t/report.json").json()
    assert "held-out" in report["title"] and report["performance"] == model["modelPerformance"]
    page = api.call("GET", "models/t/report")
    assert page.status_code == 200 and "class_1" in page.text
    png = api.call("GET", f"models/t/report/{report['files'][0]}")
    assert png.status_code == 200
    Image.open(io.BytesIO(png.content)).verify()


def test_reports_of_what_has_not_succeeded_are_409(api: Api) -> None:
    register_shapes(api, "noise", classes=2, per_class=4, learnable=False)
    assert api.call("PUT", "models/n", json=model_body("noise", 0.005)).status_code == 201
    assert api.call("GET", "models/n/report").status_code == 409
    assert api.call("GET", "models/nope/report").status_code == 404
    wait_for(api, "n", FINAL, timeout=180)
