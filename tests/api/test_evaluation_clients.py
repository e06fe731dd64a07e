"""Evaluations as existing code reaches them: the official sample client's EvaluationClient and TrainingClient
evaluation calls, unmodified, against a live server; the report page in headless Chromium with the key header;
and `tailor report` writing the same report into a folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

os.environ.setdefault("TQDM_DISABLE", "1")
from cognitive_service_vision_model_customization_python_samples import (
    Evaluation,
    EvaluationClient,
    EvaluationStatus,
    ResourceType,
    TrainingClient,
)

from tailor.blobs import Access
from tailor.coco import AnnotationKind
from tailor.datasets import DatasetSpec
from tailor.store import Store
from tests.images import shapes_dataset

from .conftest import TRAINING_KEY, VERSION, LiveServer
from .test_analyze import add_model, settings_for


@pytest.fixture
def live(tmp_path: Path, shapes_model: Path):
    settings = settings_for(tmp_path)
    add_model(settings, "m", shapes_model)
    test = shapes_dataset(Path(settings.data_roots[0]) / "test", classes=3, per_class=3, seed=9)
    store = Store.connect(settings.resolved_database_url)
    store.datasets.insert("test", DatasetSpec(AnnotationKind.CLASSIFICATION, (str(test),), {}, Access()))
    store.close()
    with LiveServer(settings) as server:
        yield server


def test_the_sample_clients_evaluate_query_wait_and_delete(live: LiveServer) -> None:
    args = (ResourceType.MULTI_SERVICE_RESOURCE, None, live.url, TRAINING_KEY)
    evaluations = EvaluationClient(*args)
    started = evaluations.evaluate(Evaluation("first", "m", "test"))
    assert started.status is EvaluationStatus.NOT_STARTED and started.model_name == "m"
    assert evaluations.query_run("first", "m").eval_params.test_dataset_name == "test"
    done = evaluations.wait_for_completion("first", "m", check_wait_in_secs=1)
    assert done.status is EvaluationStatus.SUCCEEDED and done.model_performance["accuracyTop1"] >= 0.9

    training = TrainingClient(*args)
    training.evaluate_model(Evaluation("second", "m", "test"))
    assert training.query_model_evaluation("m", "second").name == "second"
    finished = training.wait_for_evaluation_completion("m", "second", check_wait_in_secs=1)
    assert finished.status is EvaluationStatus.SUCCEEDED
    assert finished.model_performance["tagPerformance"] == done.model_performance["tagPerformance"]
    training.delete_model_evaluation("m", "second")
    with pytest.raises(Exception, match="404"):
        training.query_model_evaluation("m", "second")


def test_the_served_report_opens_in_a_browser_and_tailor_report_writes_it(
    live: LiveServer, browser_page, tmp_path: Path
) -> None:
    EvaluationClient(ResourceType.MULTI_SERVICE_RESOURCE, None, live.url, TRAINING_KEY).evaluate(
        Evaluation("e", "m", "test")
    )
    EvaluationClient(ResourceType.MULTI_SERVICE_RESOURCE, None, live.url, TRAINING_KEY).wait_for_completion(
        "e", "m", check_wait_in_secs=1
    )
    url = f"{live.url}/computervision/models/m/evaluations/e/report?api-version={VERSION}"
    page = browser_page.open(url, headers={"Ocp-Apim-Subscription-Key": TRAINING_KEY},
                             screenshot=tmp_path / "report.png")
    assert page.status == 200 and page.problems == []
    assert page.image_count >= 5 and "class_2" in page.text
    assert browser_page.open(url).status == 401  # no key, no report

    out = tmp_path / "written"
    done = subprocess.run(
        [sys.executable, "-m", "tailor", "report", "m", "e", "-o", str(out), "--endpoint", live.url,
         "--key", TRAINING_KEY],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    described = json.loads((out / "report.json").read_text())
    assert described["imageCount"] == 9
    for name in described["files"]:
        with Image.open(out / name) as image:
            assert image.width > 0
    local = browser_page.open((out / "report.html").as_uri())
    assert local.problems == [] and "class_2" in local.text

    missing = subprocess.run(
        [sys.executable, "-m", "tailor", "report", "m", "nope", "-o", str(tmp_path / "x"), "--endpoint", live.url,
         "--key", TRAINING_KEY],
        capture_output=True, text=True, timeout=60,
    )
    assert missing.returncode == 1 and "404" in missing.stderr and "'nope'" in missing.stderr
    assert not (tmp_path / "x").exists()
