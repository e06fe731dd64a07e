"""The Performance tab: precision, recall and AP per tag and overall, computed in the page from the iteration's
held-out predictions (loaded once, GET /computervision/models/cv-<id>/heldout-predictions), at the thresholds of its
sliders, and its report. The page's figures at two thresholds must be what the Custom Vision API's
get_iteration_performance answers for the same iteration; the detector's matching and AP (js/metrics.js) are checked
against the very functions the API computes them with (tailor/customvision/performance.py) on drawn predictions,
since no detector trains in the few seconds these tests may take, and a detector's card with both sliders is driven
on drawn predictions routed to the page."""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import httpx
import numpy as np
import pytest
from azure.cognitiveservices.vision.customvision.training.models import ImageFileCreateBatch, ImageFileCreateEntry
from playwright.sync_api import Page, expect

from tailor.automl.runtime import load_onnx
from tailor.customvision.performance import classification_performance, detection_performance
from tailor.reports import DetectionPredictions, Predictions, save_predictions
from tests.api.conftest import TRAINING_KEY
from tests.api.customvision.conftest import jpeg, tree
from tests.portal.pages import api_figures, page_figures, screenshot_both_sizes, sign_in

TRAINING_TIMEOUT_S = 300
THRESHOLDS = (0.0, 0.7)  # at 0 every tag is predicted for every image: the figures differ even for a perfect model


@pytest.fixture(scope="module")
def trained(portal) -> dict:
    """One classifier iteration, trained through the SDK, shared by the module."""
    trainer = portal.trainer()
    project = trainer.create_project("Performance", description="hemlock or cherry")
    tags = {kind: trainer.create_tag(project.id, kind) for kind in ("hemlock", "cherry")}
    entries = [ImageFileCreateEntry(name=f"{kind}_{k}.jpg", contents=jpeg(tree(kind, seed + k)),
                                    tag_ids=[tags[kind].id])
               for kind, seed in (("hemlock", 0), ("cherry", 100)) for k in range(10)]
    assert trainer.create_images_from_files(project.id, ImageFileCreateBatch(images=entries)).is_batch_successful
    iteration = trainer.train_project(project.id)  # Quick: the portal fixture's default, CLASSIFIER_BUDGET_HOURS
    deadline = time.monotonic() + TRAINING_TIMEOUT_S
    while iteration.status == "Training" and time.monotonic() < deadline:
        time.sleep(1)
        iteration = trainer.get_iteration(project.id, iteration.id)
    assert iteration.status == "Completed", iteration.training_error_details
    return {"project": project.id, "iteration": iteration.id, "name": iteration.name}


def test_the_figures_at_two_thresholds_are_the_apis(browser_page, portal, trained, screenshots: Path) -> None:
    seen: dict = {}

    def flow(page: Page) -> None:
        sign_in(page, portal.url)
        page.goto(f"{portal.url}/#/projects/{trained['project']}/performance")
        card = page.get_by_role("region", name=trained["name"])
        expect(card.get_by_label("Probability threshold")).to_be_visible()
        expect(card.get_by_label("Overlap threshold")).to_have_count(0)  # a classifier has none
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        for threshold in THRESHOLDS:
            card.get_by_label("Probability threshold").fill(str(round(threshold * 100)))
            expect(card.get_by_text(f"{round(threshold * 100)}%", exact=True)).to_be_visible()
            seen[threshold] = page_figures(card)
        seen["requests while sliding"] = requests[:]
        screenshot_both_sizes(page, screenshots, "performance")

        card.get_by_role("button", name="View report").click()
        report = card.locator(".report")
        expect(report.get_by_role("img", name="Confusion matrix")).to_be_visible()
        expect(report.get_by_role("link", name="Download report")).to_be_visible()
        seen["report images"] = report.locator("img").evaluate_all(
            "images => images.map(image => image.complete && image.naturalWidth > 0)")
        screenshot_both_sizes(page, screenshots, "performance-report")

    started = time.monotonic()
    drive = browser_page.drive(flow)
    assert drive.problems() == []
    assert drive.error_responses == []
    assert seen["requests while sliding"] == []  # the sliders recompute in the page
    assert seen["report images"] and all(seen["report images"])
    assert seen[THRESHOLDS[0]] != seen[THRESHOLDS[1]]
    trainer = portal.trainer()
    for threshold in THRESHOLDS:
        answer = trainer.get_iteration_performance(trained["project"], trained["iteration"], threshold=threshold)
        assert seen[threshold] == api_figures(answer), threshold
    print(f"performance page: {time.monotonic() - started:.0f} s")


def test_an_iteration_exports_to_onnx_from_its_card(browser_page, portal, trained, tmp_path: Path) -> None:
    saved = tmp_path / "export.zip"

    def flow(page: Page) -> None:
        sign_in(page, portal.url)
        page.goto(f"{portal.url}/#/projects/{trained['project']}/performance")
        card = page.get_by_role("region", name=trained["name"])
        with page.expect_download(timeout=180_000) as download:
            card.get_by_role("button", name="Export ONNX").click()
        download.value.save_as(saved)
        assert download.value.suggested_filename == f"{trained['name']}.ONNX.zip"
        expect(card.get_by_role("button", name="Export ONNX")).to_be_enabled()

    drive = browser_page.drive(flow)
    assert drive.problems() == []
    assert drive.error_responses == []
    with zipfile.ZipFile(saved) as archive:
        labels = archive.read("labels.txt").decode().splitlines()
        exported = load_onnx(archive.read("model.onnx"))
    assert sorted(labels) == ["cherry", "hemlock"] and list(exported.class_names) == labels
    assert exported.metadata["tailor.model"] == f"cv-{trained['iteration']}"


def test_the_held_out_predictions_route(portal, trained) -> None:
    headers = {"Ocp-Apim-Subscription-Key": TRAINING_KEY}
    query = {"api-version": "2023-04-01-preview"}
    url = f"{portal.url}/computervision/models/cv-{trained['iteration']}/heldout-predictions"
    body = httpx.get(url, params=query, headers=headers).json()
    assert body["kind"] == "classifier" and sorted(body["classNames"]) == ["cherry", "hemlock"]
    assert len(body["scores"]) == len(body["imageNames"]) == len(body["targets"]) >= 1
    assert httpx.get(url, params=query).status_code == 401
    missing = httpx.get(f"{portal.url}/computervision/models/cv-nope/heldout-predictions", params=query,
                        headers=headers)
    assert missing.status_code == 404


def drawn_detections(seed: int) -> DetectionPredictions:
    """Held-out boxes of three tags on eight images: true boxes, and detections near them, off them and duplicated,
    with tied scores, so that every branch of COCOeval's matching is taken."""
    rng = np.random.default_rng(seed)
    images = 8
    true_boxes, true_labels, boxes, labels, scores = [], [], [], [], []
    for image in range(images):
        k = int(rng.integers(0, 4))
        corners = rng.uniform(0, 200, (k, 2))
        truth = np.hstack([corners, corners + rng.uniform(10, 80, (k, 2))])
        truth_labels = rng.integers(0, 2 if image % 3 else 3, k)  # tag 2 is rare
        found, found_labels = [], []
        for t, label in zip(truth, truth_labels):  # 0 to 2 detections near each true box, mostly of its tag
            for _ in range(int(rng.integers(0, 3))):
                found.append(t + rng.normal(0, 6, 4))
                found_labels.append(int(label) if rng.uniform() < 0.8 else int(rng.integers(0, 3)))
        for _ in range(int(rng.integers(0, 3))):  # strays
            corner = rng.uniform(0, 200, 2)
            found.append(np.concatenate([corner, corner + rng.uniform(5, 60, 2)]))
            found_labels.append(int(rng.integers(0, 3)))
        box_array = np.array(found, dtype=np.float64).reshape(-1, 4)
        box_array[:, 2:] = np.maximum(box_array[:, 2:], box_array[:, :2] + 1)
        true_boxes.append(truth)
        true_labels.append(truth_labels)
        boxes.append(box_array)
        labels.append(np.array(found_labels, dtype=np.int64))
        scores.append(np.round(rng.uniform(0, 1, len(found)), 1))  # rounded: ties
    return DetectionPredictions(
        class_names=("hammer", "wrench", "pliers"), image_names=tuple(f"image-{i}" for i in range(images)),
        image_sizes=tuple((300, 300) for _ in range(images)), true_boxes=tuple(true_boxes),
        true_labels=tuple(true_labels), boxes=tuple(boxes), labels=tuple(labels), scores=tuple(scores))


def drawn_classifications(seed: int, multilabel: bool) -> Predictions:
    rng = np.random.default_rng(seed)
    count, classes = 30, 3
    if multilabel:
        targets = (rng.uniform(0, 1, (count, classes)) < 0.4).astype(int)
        scores = np.clip(targets * 0.4 + rng.uniform(0, 0.6, (count, classes)), 0, 1).round(2)
    else:
        targets = rng.integers(0, classes, count)
        raw = rng.uniform(0, 1, (count, classes)) + np.eye(classes)[targets] * 0.8
        scores = (raw / raw.sum(axis=1, keepdims=True)).round(2)
    return Predictions(class_names=("a", "b", "c"), multilabel=multilabel, scores=scores, targets=targets,
                       image_names=tuple(f"image-{i}" for i in range(count)))


def as_json(predictions, tmp_path: Path) -> dict:
    path = tmp_path / "heldout.json"
    save_predictions(path, predictions)
    return json.loads(path.read_text())


def plain(performance) -> dict:
    return {"precision": performance.precision, "recall": performance.recall,
            "averagePrecision": performance.average_precision,
            "perTag": [{"name": t.name, "precision": t.precision, "recall": t.recall,
                        "averagePrecision": t.average_precision} for t in performance.per_tag]}


def assert_close(page: dict, api: dict) -> None:
    assert page.keys() == api.keys()
    for key in ("precision", "recall", "averagePrecision"):
        assert page[key] == pytest.approx(api[key], abs=1e-9), key
    assert [t["name"] for t in page["perTag"]] == [t["name"] for t in api["perTag"]]
    for mine, theirs in zip(page["perTag"], api["perTag"]):
        for key in ("precision", "recall", "averagePrecision"):
            assert (mine[key] is None) == (theirs[key] is None), (mine, theirs)
            if theirs[key] is not None:
                assert mine[key] == pytest.approx(theirs[key], abs=1e-9), (key, mine, theirs)


def test_the_pages_arithmetic_is_the_apis(browser_page, portal, tmp_path: Path) -> None:
    """js/metrics.js against tailor/customvision/performance.py (which answers get_iteration_performance) on drawn
    held-out predictions: detectors at several probability and overlap thresholds, classifiers of both kinds."""
    cases = []
    for seed in range(4):
        detections = drawn_detections(seed)
        for threshold, overlap in ((0.0, 0.3), (0.5, 0.3), (0.3, 0.5), (0.8, 0.75), (0.5, 0.1)):
            cases.append((as_json(detections, tmp_path), threshold, overlap,
                          plain(detection_performance(detections, {}, threshold, overlap))))
    for seed, multilabel in ((1, False), (2, True)):
        predictions = drawn_classifications(seed, multilabel)
        for threshold in (0.0, 0.3, 0.5, 0.9):
            cases.append((as_json(predictions, tmp_path), threshold, None,
                          plain(classification_performance(predictions, {}, threshold))))

    def flow(page: Page):
        page.goto(f"{portal.url}/")
        return page.evaluate("""async (cases) => {
            const { performanceOf } = await import("/portal/js/metrics.js");
            return cases.map(([heldOut, threshold, overlap]) => performanceOf(heldOut, threshold, overlap));
        }""", [case[:3] for case in cases])

    drive = browser_page.drive(flow)
    assert drive.problems() == []
    for (_, threshold, overlap, api), page in zip(cases, drive.result):
        assert_close(page, api)


def test_a_detectors_sliders(browser_page, portal, tmp_path: Path, screenshots: Path) -> None:
    """A detector's Performance card, both sliders, on drawn held-out predictions: no detector trains in the seconds
    this test may take, so its iteration, its model and held-out predictions are answered by the test (Playwright's
    routing) for a real detection project; the figures at two pairs of thresholds are those of performance.py's
    detection_performance, as get_iteration_performance would answer them."""
    trainer = portal.trainer()
    domain = next(d for d in trainer.get_domains() if d.type == "ObjectDetection")
    project = trainer.create_project("Tools", domain_id=domain.id)
    detections = drawn_detections(1)
    held_out = as_json(detections, tmp_path)
    iteration = {"id": "0f0e0d0c-0000-4000-8000-000000000001", "name": "Iteration 1", "status": "Completed",
                 "created": "2026-01-01T00:00:00Z", "lastModified": "2026-01-01T00:00:00Z",
                 "trainedAt": "2026-01-01T00:00:00Z", "projectId": project.id, "exportable": False,
                 "domainId": domain.id, "trainingType": "Regular", "reservedBudgetInHours": 0,
                 "trainingTimeInMinutes": 1, "publishName": None, "originalPublishResourceId": None,
                 "classificationType": None}
    # Its model on the Image Analysis face, as the training left it: what the card says of the search.
    model = {"name": f"cv-{iteration['id']}", "status": "succeeded",
             "trainingProgress": {"phase": "succeeded", "trialsDone": 5, "bestValidationScore": 0.8125}}
    pairs = ((0.5, 0.3), (0.2, 0.6))
    seen: dict = {}

    def flow(page: Page) -> None:
        page.route(f"**/projects/{project.id}/iterations", lambda route: route.fulfill(
            json=[iteration]) if route.request.method == "GET" else route.continue_())
        page.route(f"**/models/cv-{iteration['id']}/heldout-predictions?*",
                   lambda route: route.fulfill(body=json.dumps(held_out), content_type="application/json"))
        page.route(f"**/models/cv-{iteration['id']}?*", lambda route: route.fulfill(json=model))
        sign_in(page, portal.url)
        page.goto(f"{portal.url}/#/projects/{project.id}/performance")
        card = page.get_by_role("region", name="Iteration 1")
        expect(card.get_by_test_id("search-summary")).to_have_text(" · 5 trials, best validation score 81.3%")
        for threshold, overlap in pairs:
            card.get_by_label("Probability threshold").fill(str(round(threshold * 100)))
            card.get_by_label("Overlap threshold").fill(str(round(overlap * 100)))
            expect(card.get_by_text(f"{round(overlap * 100)}%", exact=True)).to_be_visible()
            seen[threshold, overlap] = page_figures(card)
        screenshot_both_sizes(page, screenshots, "performance-detector")

    drive = browser_page.drive(flow)
    assert drive.problems() == []
    for threshold, overlap in pairs:
        expected = detection_performance(detections, {}, threshold, overlap)
        assert seen[threshold, overlap] == api_figures(expected), (threshold, overlap)
    assert seen[pairs[0]] != seen[pairs[1]]
