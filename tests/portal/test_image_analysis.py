"""The Image Analysis view: with the training key, "Image Analysis" lists the face's datasets, its models with their
status (a failure with its code and message) and training progress, and the evaluations with their reports (the
HTML report, fetched with the key, saved by the browser). What it lists is made cheaply: a model trained once for
the session (tests/trained.py) recorded as a worker records it, with its last progress; a training refused for its
tiny budget; an evaluation of the first on the dataset."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tailor.models import ModelStatus
from tailor.store import Store
from tests.api.conftest import HEADERS, VERSION, LiveServer, make_settings
from tests.api.test_analyze import add_model
from tests.images import shapes_dataset
from tests.portal.pages import screenshot_both_sizes, sign_in

DEADLINE_S = 120
# What the search wrote last when it ended (tailor.automl.search's progress).
PROGRESS = {"phase": "succeeded", "trialsDone": 4, "bestValidationScore": 0.9821, "budgetUsedSeconds": 41.3,
            "budgetSeconds": 60.0}


@pytest.fixture(scope="module")
def tailor_with_models(tmp_path_factory: pytest.TempPathFactory, azurite, shapes_model: Path) -> Iterator[str]:
    """A live Tailor with dataset "shapes", model "shapes" (succeeded) evaluated as "check" on it, and model "tiny"
    (failed: notEnoughBudget); its URL."""
    root = tmp_path_factory.mktemp("portal-ia")
    settings = make_settings(root, f"sqlite:///{root / 'tailor.db'}", allow_hosts=[azurite.host_port],
                             storage_connection_string=azurite.connection_string,
                             storage_container=f"tailor-{uuid.uuid4().hex[:12]}")
    coco = shapes_dataset(Path(settings.data_roots[0]) / "shapes", classes=3, per_class=3)
    with LiveServer(settings) as server:
        with httpx.Client(base_url=f"{server.url}/computervision", headers=HEADERS,
                          params={"api-version": VERSION}, timeout=30) as client:
            answer = client.put("/datasets/shapes", json={"annotationKind": "imageClassification",
                                                          "annotationFileUris": [str(coco)]})
            assert answer.status_code == 201, answer.text
            add_model(settings, "shapes", shapes_model)
            store = Store.connect(settings.resolved_database_url)
            try:  # its last progress, as its training left it
                store.models.move("shapes", ModelStatus.SUCCEEDED, ModelStatus.SUCCEEDED, progress=PROGRESS)
            finally:
                store.close()
            answer = client.put("/models/tiny", json={"trainingParameters": {
                "trainingDatasetName": "shapes", "timeBudgetInHours": 0.0001, "modelKind": "Generic-Classifier"}})
            assert answer.status_code == 201, answer.text
            answer = client.put("/models/shapes/evaluations/check",
                                json={"evaluationParameters": {"testDatasetName": "shapes"}})
            assert answer.status_code == 201, answer.text
            deadline = time.monotonic() + DEADLINE_S
            while time.monotonic() < deadline:
                tiny = client.get("/models/tiny").json()["status"]
                check = client.get("/models/shapes/evaluations/check").json()["status"]
                if tiny not in ("notStarted", "training") and check not in ("notStarted", "running"):
                    break
                time.sleep(0.5)
            assert (tiny, check) == ("failed", "succeeded")
        yield server.url


def test_the_image_analysis_view_lists_datasets_models_and_evaluations_with_their_reports(
        browser_page, tailor_with_models: str, screenshots: Path) -> None:
    def flow(page: Page) -> dict:
        sign_in(page, tailor_with_models)
        page.get_by_role("link", name="Image Analysis").click()
        expect(page.get_by_role("heading", name="Image Analysis")).to_be_visible()
        datasets = page.get_by_role("table", name="Datasets")
        models = page.get_by_role("table", name="Models")
        evaluations = page.get_by_role("table", name="Evaluations")
        expect(datasets.locator("tbody tr")).to_have_count(1)
        expect(models.locator("tbody tr")).to_have_count(2)
        expect(evaluations.locator("tbody tr")).to_have_count(1)
        rows = {name: [tuple(row.locator("td").all_inner_texts()) for row in table.locator("tbody tr").all()]
                for name, table in (("datasets", datasets), ("models", models), ("evaluations", evaluations))}
        screenshot_both_sizes(page, screenshots, "image-analysis")
        with page.expect_download() as download:
            page.get_by_role("link", name="Report of check").click()
        report = Path(download.value.path()).read_text()
        return {"rows": rows, "report": report, "file": download.value.suggested_filename}

    drive = browser_page.drive(flow)
    assert drive.problems() == []
    rows = drive.result["rows"]
    assert [row[:3] for row in rows["datasets"]] == [("shapes", "imageClassification", "1")]
    models = {row[0]: row for row in rows["models"]}
    assert set(models) == {"shapes", "tiny"}
    assert models["shapes"][3] == "succeeded"
    assert models["shapes"][4] == "succeeded · 4 trials · best 98.2% · 41 s of 60 s"
    assert models["tiny"][3].startswith("failed notEnoughBudget: "), models["tiny"]
    assert models["tiny"][1] == "Generic-Classifier"
    assert [row[:4] for row in rows["evaluations"]] == [("shapes", "check", "shapes", "succeeded")]
    assert drive.result["file"] == "shapes-check-report.html"
    assert "<html" in drive.result["report"].lower()
