"""Models over the wire, with the embedded default's real runner training in child processes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from tests.images import shapes_dataset

from .conftest import Api
from .test_datasets import error_of

FINAL = {"succeeded", "failed", "cancelled"}


def model_body(dataset: str, budget: float = 0.01, kind: str = "Generic-Classifier", **extra) -> dict:
    return {"trainingParameters": {"trainingDatasetName": dataset, "timeBudgetInHours": budget, "modelKind": kind}, **extra}


def register_shapes(api: Api, name: str, **options) -> None:
    path = shapes_dataset(api.root / name, **options)
    response = api.register(name, uris=[str(path)])
    assert response.status_code == 201, response.text


def wait_for(api: Api, name: str, statuses: set[str], timeout: float = 120) -> dict:
    return poll(api, f"models/{name}", statuses, timeout)


def poll(api: Api, path: str, statuses: set[str], timeout: float) -> dict:
    """GET `path` until its status is one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        record = api.call("GET", path).json()
        if record["status"] in statuses:
            return record
        assert time.monotonic() < deadline, f"{path} still {record['status']} after {timeout} s"
        time.sleep(0.3)


@pytest.mark.slow
def test_train_to_success_with_metrics_and_an_honest_bill(api: Api) -> None:
    register_shapes(api, "shapes")
    created = api.call("PUT", "models/m1", json=model_body("shapes", 0.01))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "notStarted" and body["trainingCostInMinutes"] == 0
    assert body["trainingParameters"] == {"trainingDatasetName": "shapes", "timeBudgetInHours": 0.01,
                                          "modelKind": "Generic-Classifier"}
    model = wait_for(api, "m1", FINAL)
    assert model["status"] == "succeeded", model
    performance = model["modelPerformance"]
    assert performance["accuracyTop1"] >= 0.9 and set(performance["tagPerformance"]) == {"class_0", "class_1", "class_2"}
    assert 0 <= model["trainingCostInMinutes"] <= 0.01 * 60
    assert model["trainingProgress"]["trialsDone"] >= 1 and "error" not in model
    listed = api.call("GET", "models").json()
    assert [m["name"] for m in listed["value"]] == ["m1"]
    assert api.call("DELETE", "models/m1").status_code == 204
    gone = api.call("GET", "models/m1")
    assert gone.status_code == 404 and error_of(gone)["code"] == "ModelNotFound"


@pytest.mark.parametrize(
    ("body", "target"),
    [
        (model_body("shapes", 0.01, kind="Generic-Detector"), "trainingParameters.trainingDatasetName"),  # not boxes
        (model_body("shapes", 0.01, kind="Product-Recognizer"), "trainingParameters.modelKind"),
        (model_body("shapes", 400), "trainingParameters.timeBudgetInHours"),
        (model_body("shapes", 0), "trainingParameters.timeBudgetInHours"),
        (model_body("nothing-here", 1), "trainingParameters.trainingDatasetName"),
        (model_body("shapes", 1, evaluationParameters={"testDatasetName": "nope"}), "evaluationParameters.testDatasetName"),
        ({"trainingParameters": {"timeBudgetInHours": 1}}, "trainingParameters.trainingDatasetName"),
    ],
)
def test_bad_model_requests_are_400_and_create_nothing(api: Api, body: dict, target: str) -> None:
    register_shapes(api, "shapes", per_class=2)
    response = api.call("PUT", "models/bad", json=body)
    assert response.status_code == 400, response.text
    assert error_of(response)["target"] == target
    assert api.call("GET", "models/bad").status_code == 404


def test_a_classifier_needs_a_classification_dataset(api: Api) -> None:
    assert api.register("boxes", kind="imageObjectDetection").status_code == 201
    response = api.call("PUT", "models/m", json=model_body("boxes", 1))
    assert response.status_code == 400 and "imageClassification" in error_of(response)["message"]


@pytest.mark.slow
def test_pascal_case_and_an_existing_name(api: Api) -> None:
    register_shapes(api, "shapes", per_class=2)
    body = {"TrainingParameters": {"TrainingDatasetName": "shapes", "TimeBudgetInHours": 0.005,
                                   "ModelKind": "Generic-Classifier"}}
    assert api.call("PUT", "models/m", json=body).status_code == 201
    again = api.call("PUT", "models/m", json=body)
    assert again.status_code == 409 and error_of(again)["code"] == "ModelAlreadyExists"
    wait_for(api, "m", FINAL)


@pytest.mark.slow
def test_cancel_while_training_then_delete(api: Api) -> None:
    register_shapes(api, "noise", classes=4, per_class=8, learnable=False)
    assert api.call("PUT", "models/long", json=model_body("noise", 0.05)).status_code == 201
    wait_for(api, "long", {"training"}, timeout=60)
    busy = api.call("DELETE", "models/long")
    assert busy.status_code == 409 and error_of(busy)["code"] == "Conflict"
    asked = time.monotonic()
    cancelled = api.call("POST", "models/long:cancel")
    assert cancelled.status_code == 202 and cancelled.json()["status"] in ("cancelling", "cancelled")
    model = wait_for(api, "long", FINAL, timeout=30)
    assert model["status"] == "cancelled" and time.monotonic() - asked < 10
    assert model["trainingCostInMinutes"] <= 3
    assert api.call("DELETE", "models/long").status_code == 204


@pytest.mark.slow
def test_cancel_before_training_starts_is_immediate(api: Api) -> None:
    register_shapes(api, "shapes", per_class=2)
    for name in ("first", "second"):  # one runner, one job at a time: the second waits
        assert api.call("PUT", f"models/{name}", json=model_body("shapes", 0.005)).status_code == 201
    cancelled = api.call("POST", "models/second:cancel").json()
    assert cancelled["status"] == "cancelled"
    assert wait_for(api, "first", FINAL)["status"] == "succeeded"
    assert api.call("GET", "models/second").json()["status"] == "cancelled"


def test_cancel_and_delete_of_a_missing_model_are_404(api: Api) -> None:
    assert error_of(api.call("POST", "models/none:cancel"))["code"] == "ModelNotFound"
    assert api.call("DELETE", "models/none").status_code == 404


@pytest.mark.slow
def test_not_enough_budget_fails_with_the_minimum_and_a_suggestion(api: Api) -> None:
    register_shapes(api, "shapes", classes=3, per_class=20)
    assert api.call("PUT", "models/tiny", json=model_body("shapes", 0.0001)).status_code == 201
    model = wait_for(api, "tiny", FINAL)
    assert model["status"] == "failed" and model["error"]["code"] == "notEnoughBudget"
    assert "try timeBudgetInHours of at least" in model["error"]["message"]
    assert model["trainingCostInMinutes"] == 0 and set(model["error"]) == {"code", "message"}


@pytest.mark.slow
def test_quotas_checked_when_training_starts_fail_as_dataset_corrupt(api: Api) -> None:
    register_shapes(api, "small", classes=2, per_class=1)  # registration takes it; training needs 2 a class
    assert api.call("PUT", "models/m", json=model_body("small", 0.01)).status_code == 201
    model = wait_for(api, "m", FINAL)
    assert model["status"] == "failed" and model["error"]["code"] == "datasetCorrupt"
    assert "tooFewImagesPerCategory" in model["error"]["message"] or "at least 2" in model["error"]["message"]


@pytest.mark.slow
def test_a_killed_worker_is_retried_and_ends_in_a_definite_state(api: Api) -> None:
    register_shapes(api, "noise", classes=3, per_class=8, learnable=False)
    assert api.call("PUT", "models/victim", json=model_body("noise", 0.004)).status_code == 201
    wait_for(api, "victim", {"training"}, timeout=60)
    deadline = time.monotonic() + 30
    while not (children := multiprocessing.active_children()):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    for child in children:
        os.kill(child.pid, signal.SIGKILL)
    model = wait_for(api, "victim", FINAL, timeout=120)
    assert model["trainingProgress"].get("attempt") == 2, model
    assert model["trainingCostInMinutes"] <= 0.004 * 60


def test_operator_limits_on_budgets(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from tailor.api import create_app

    from .conftest import OTHER_TRAINING_KEY, make_settings

    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", max_budget_hours=2, max_training_hours_per_key=3
    )
    with TestClient(create_app(settings)) as client:
        api = Api(client, tmp_path / "datasets")
        register_shapes(api, "shapes", per_class=2)
        too_big = api.call("PUT", "models/big", json=model_body("shapes", 2.5))
        assert too_big.status_code == 400 and "TAILOR_MAX_BUDGET_HOURS" in error_of(too_big)["message"]
        api.call("POST", "models/a:cancel")
        assert api.call("PUT", "models/a", json=model_body("shapes", 2)).status_code == 201
        api.call("POST", "models/a:cancel")
        over = api.call("PUT", "models/b", json=model_body("shapes", 1.5))
        assert over.status_code == 400 and "TAILOR_MAX_TRAINING_HOURS_PER_KEY" in error_of(over)["message"]
        other_key = api.call("PUT", "models/b", json=model_body("shapes", 1.5),
                             headers={"Ocp-Apim-Subscription-Key": OTHER_TRAINING_KEY})
        assert other_key.status_code == 201  # the limit is per key
        api.call("POST", "models/b:cancel", headers={"Ocp-Apim-Subscription-Key": OTHER_TRAINING_KEY})
        wait_for(api, "a", FINAL)
        assert api.call("DELETE", "models/a").status_code == 204
        assert api.call("PUT", "models/c", json=model_body("shapes", 1.5)).status_code == 201  # freed by deleting
        api.call("POST", "models/c:cancel")
        wait_for(api, "c", FINAL)
        wait_for(api, "b", FINAL)
