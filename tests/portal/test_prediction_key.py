"""A prediction key opens only Quick Test: signed in with it, a person names a published iteration (its project ID
and publish name, or the prediction URL pasted) and tests an image on the Prediction API, with the Prediction-Key
header alone; the training pages are not reachable and the training API is never called. A wrong prediction key
is refused by the first test, in the API's words."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
from azure.cognitiveservices.vision.customvision.training.models import ImageFileCreateBatch, ImageFileCreateEntry
from playwright.sync_api import Page, expect

from tailor.api.customvision.gateway import UNAUTHORIZED_MESSAGE
from tests.api.conftest import PREDICTION_KEY
from tests.api.customvision.conftest import Tailor, jpeg, tree
from tests.portal.pages import screenshot_both_sizes

TRAINING_TIMEOUT_S = 300
PUBLISHED_NAME = "treesModel"


@pytest.fixture(scope="module")
def published(portal: Tailor) -> Iterator[str]:
    """A classifier of drawn trees, trained once for the module on the service's default (smallest) budget and
    published as PUBLISHED_NAME; its project id."""
    trainer = portal.trainer()
    project = trainer.create_project("Trees")
    tags = {kind: trainer.create_tag(project.id, kind).id for kind in ("hemlock", "cherry")}
    images = [ImageFileCreateEntry(name=f"{kind}_{k}.jpg", contents=jpeg(tree(kind, seed)), tag_ids=[tags[kind]])
              for kind, first in (("hemlock", 0), ("cherry", 100)) for k, seed in enumerate(range(first, first + 8))]
    assert trainer.create_images_from_files(project.id, ImageFileCreateBatch(images=images)).is_batch_successful
    iteration = trainer.train_project(project.id)
    deadline = time.monotonic() + TRAINING_TIMEOUT_S
    while iteration.status == "Training" and time.monotonic() < deadline:
        time.sleep(1)
        iteration = trainer.get_iteration(project.id, iteration.id)
    assert iteration.status == "Completed", (iteration.status, iteration.training_error_details)
    assert trainer.publish_iteration(project.id, iteration.id, PUBLISHED_NAME, "prediction-resource")
    yield project.id


def sign_in_with_prediction_key(page: Page, url: str, key: str) -> None:
    page.goto(url + "/")
    page.get_by_role("button", name="Use a prediction key instead").click()
    page.get_by_label("Prediction key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Quick Test")).to_be_visible()


def test_a_prediction_key_opens_only_quick_test_of_a_published_iteration(
        browser_page, portal: Tailor, published: str, screenshots: Path) -> None:
    test_image = jpeg(tree("cherry", 777))
    expected = portal.predictor().classify_image(published, PUBLISHED_NAME, test_image)
    expected_rows = sorted(((p.tag_name, f"{p.probability * 100:.1f}%") for p in expected.predictions),
                           key=lambda row: -float(row[1][:-1]))
    image_file = {"name": "test.jpg", "mimeType": "image/jpeg", "buffer": test_image}
    requests: list[tuple[str, dict]] = []

    def flow(page: Page) -> dict:
        page.on("request", lambda request: requests.append((request.url, request.headers)))
        # A wrong prediction key cannot be checked at sign-in (the Prediction API lists nothing): the first test
        # refuses it in the API's words.
        sign_in_with_prediction_key(page, portal.url, "not-a-key")
        page.get_by_label("Project ID").fill(published)
        page.get_by_label("Published name").fill(PUBLISHED_NAME)
        page.get_by_label("Image file").set_input_files([image_file])
        expect(page.get_by_role("alert")).to_have_text(UNAUTHORIZED_MESSAGE)
        page.get_by_role("button", name="Sign out").click()

        sign_in_with_prediction_key(page, portal.url, PREDICTION_KEY)
        expect(page.get_by_role("link", name="Projects")).to_have_count(0)
        expect(page.get_by_role("heading", name="Projects")).to_have_count(0)
        kept = page.evaluate("[sessionStorage.getItem('tailor.trainingKey'), "
                             "sessionStorage.getItem('tailor.predictionKey')]")

        # Nothing named yet: the page says what it needs, and calls nothing.
        page.get_by_label("Image file").set_input_files([image_file])
        expect(page.get_by_role("alert")).to_contain_text("Enter the project ID and the published name")

        # The prediction URL pasted fills in the project, its type and the published name.
        page.get_by_label("Prediction URL").fill(
            f"{portal.url}/customvision/v3.0/Prediction/{published}/classify/iterations/{PUBLISHED_NAME}/image")
        expect(page.get_by_label("Project ID")).to_have_value(published)
        expect(page.get_by_label("Published name")).to_have_value(PUBLISHED_NAME)
        expect(page.get_by_label("Project type")).to_have_value("classify")
        page.get_by_label("Image file").set_input_files([image_file])
        table = page.get_by_role("table", name="Predictions")
        expect(table.locator("tbody tr")).to_have_count(2)
        expect(page.get_by_role("alert")).to_be_hidden()
        rows = [tuple(row.locator("td").all_inner_texts()) for row in table.locator("tbody tr").all()]
        page.get_by_label("Probability threshold").fill("0")
        expect(page.get_by_text("2 tags at or above the threshold")).to_be_visible()
        screenshot_both_sizes(page, screenshots, "prediction-key-quick-test")

        # The training pages are not there for a prediction key: their addresses open Quick Test.
        page.goto(f"{portal.url}/#/projects/{published}/images")
        expect(page.get_by_role("heading", name="Quick Test")).to_be_visible()
        expect(page.get_by_role("link", name="Training Images")).to_have_count(0)
        return {"rows": rows, "kept": kept}

    drive = browser_page.drive(flow)
    assert drive.problems(expected_statuses=(401,)) == []
    assert [r.split()[:2] for r in drive.error_responses] == [["401", "POST"]]  # the wrong key, and nothing else
    assert drive.result["rows"] == expected_rows
    assert drive.result["kept"] == [None, PREDICTION_KEY]
    api_calls = [(url, headers) for url, headers in requests if "/customvision/" in url]
    assert not [url for url, _ in requests if "/training/" in url or "/computervision" in url]  # no training API
    assert [url.split("/customvision/")[1] for url, _ in api_calls] == [
        f"v3.1/prediction/{published}/classify/iterations/{PUBLISHED_NAME}/image"] * 2
    assert all("training-key" not in headers and headers.get("prediction-key") for _, headers in api_calls)
    assert sorted(p.name for p in screenshots.iterdir()) == [
        "prediction-key-quick-test-1280x800.png", "prediction-key-quick-test-390x844.png"]


def detector_answer(project_id: str) -> str:
    """What the Prediction API answers for a detector (built with its own response model): three boxes, at 90%, 60%
    and 20%. A trained detector costs minutes of CPU (the smallest budget the detector tests train on is 144 s), so
    the drawing is checked on this answer, sent in place of the service's."""
    from datetime import datetime

    from tailor.api.customvision.schemas import BoundingBoxOut, ImagePredictionOut, PredictionOut

    boxes = [("fork", 0.9, (0.1, 0.2, 0.3, 0.4)), ("scissors", 0.6, (0.5, 0.5, 0.4, 0.3)),
             ("fork", 0.2, (0.6, 0.1, 0.2, 0.2))]
    predictions = [PredictionOut(probability=p, tag_id=f"tag-{name}", tag_name=name,
                                 bounding_box=BoundingBoxOut(left=b[0], top=b[1], width=b[2], height=b[3]))
                   for name, p, b in boxes]
    answer = ImagePredictionOut(id="prediction", project=project_id, iteration="iteration",
                                created=datetime.now(UTC), predictions=predictions)
    return answer.model_dump_json(by_alias=True)


def test_a_detectors_boxes_are_drawn_on_the_image_with_their_tag_and_probability_by_the_threshold(
        browser_page, portal: Tailor, screenshots: Path) -> None:
    project_id = "0f6a3c52-1f7e-4c1b-9a43-5d0c1b2a3e4f"
    image_file = {"name": "tools.jpg", "mimeType": "image/jpeg", "buffer": jpeg(tree("hemlock", 5, (320, 240)))}
    routed: list[str] = []

    def flow(page: Page) -> dict:
        def answer(route) -> None:
            routed.append(route.request.url)
            route.fulfill(status=200, content_type="application/json; charset=utf-8",
                          body=detector_answer(project_id))

        page.route("**/customvision/v3.1/prediction/**", answer)
        sign_in_with_prediction_key(page, portal.url, PREDICTION_KEY)
        page.get_by_label("Prediction URL").fill(
            f"{portal.url}/customvision/v3.0/Prediction/{project_id}/detect/iterations/toolsModel/url")
        expect(page.get_by_label("Project type")).to_have_value("detect")
        page.get_by_label("Image file").set_input_files([image_file])
        boxes = page.get_by_test_id("prediction-boxes").get_by_role("img")
        expect(boxes).to_have_count(2)  # at the 50% threshold
        expect(page.get_by_text("2 objects at or above the threshold")).to_be_visible()
        labels = boxes.all_inner_texts()
        picture = page.get_by_role("img", name="The tested image").bounding_box()
        first = page.get_by_role("img", name="fork 90.0%").bounding_box()
        placed = [round((first["x"] - picture["x"]) / picture["width"], 2),
                  round((first["y"] - picture["y"]) / picture["height"], 2),
                  round(first["width"] / picture["width"], 2), round(first["height"] / picture["height"], 2)]
        screenshot_both_sizes(page, screenshots, "quick-test-boxes")
        page.get_by_label("Probability threshold").fill("70")
        expect(boxes).to_have_count(1)
        expect(page.get_by_text("1 object at or above the threshold")).to_be_visible()
        page.get_by_label("Probability threshold").fill("10")
        expect(boxes).to_have_count(3)
        expect(page.get_by_role("table", name="Predictions").locator("tbody tr.below")).to_have_count(0)
        page.get_by_label("Probability threshold").fill("95")
        expect(boxes).to_have_count(0)
        expect(page.get_by_role("table", name="Predictions").locator("tbody tr.below")).to_have_count(3)
        return {"labels": labels, "placed": placed}

    drive = browser_page.drive(flow)
    assert drive.problems() == []
    assert drive.result["labels"] == ["fork 90.0%", "scissors 60.0%"]
    assert drive.result["placed"] == [0.1, 0.2, 0.3, 0.4]  # left, top, width, height as fractions of the image
    assert [url.split("/customvision/")[1] for url in routed] == [
        f"v3.1/prediction/{project_id}/detect/iterations/toolsModel/image"]


def test_quick_test_of_a_detection_project_draws_its_boxes(browser_page, portal: Tailor, screenshots: Path) -> None:
    """The project's own Quick Test tab (training key) draws a detector's boxes the same way: the project is real,
    its one completed iteration and the quick test's answer are sent in place of the service's (no trained detector,
    as above)."""
    from tests.portal.pages import sign_in

    trainer = portal.trainer()
    domain = next(d for d in trainer.get_domains() if d.type == "ObjectDetection" and d.name == "General")
    project = trainer.create_project("Tools", domain_id=domain.id)
    iteration = {"id": "5d0c1b2a-3e4f-4c1b-9a43-0f6a3c521f7e", "name": "Iteration 1", "status": "Completed",
                 "created": "2026-01-01T00:00:00Z", "lastModified": "2026-01-01T00:00:00Z", "exportable": False,
                 "domainId": domain.id, "projectId": project.id, "trainingType": "Regular",
                 "reservedBudgetInHours": 0, "trainingTimeInMinutes": 0}
    image_file = {"name": "tools.jpg", "mimeType": "image/jpeg", "buffer": jpeg(tree("hemlock", 5, (320, 240)))}
    routed: list[str] = []

    def flow(page: Page) -> list[str]:
        def iterations(route) -> None:
            routed.append(route.request.url)
            route.fulfill(status=200, content_type="application/json", body=json.dumps([iteration]))

        def quick_test(route) -> None:
            routed.append(route.request.url)
            route.fulfill(status=200, content_type="application/json", body=detector_answer(project.id))

        page.route(f"**/projects/{project.id}/iterations", iterations)
        page.route(f"**/projects/{project.id}/quicktest/image*", quick_test)
        sign_in(page, portal.url)
        page.goto(f"{portal.url}/#/projects/{project.id}/quicktest")
        page.get_by_label("Image file").set_input_files([image_file])
        boxes = page.get_by_test_id("prediction-boxes").get_by_role("img")
        expect(boxes).to_have_count(2)
        labels = boxes.all_inner_texts()
        page.get_by_label("Probability threshold").fill("10")
        expect(boxes).to_have_count(3)
        screenshot_both_sizes(page, screenshots, "quick-test-detector")
        return labels

    drive = browser_page.drive(flow)
    assert drive.problems() == []
    assert drive.result == ["fork 90.0%", "scissors 60.0%"]
    assert [url.split("/training/")[1].split("?")[0] for url in routed] == [
        f"projects/{project.id}/iterations", f"projects/{project.id}/quicktest/image"]
    assert f"iterationId={iteration['id']}" in routed[1]
