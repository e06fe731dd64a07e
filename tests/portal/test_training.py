"""From sign-in to a published iteration answering the prediction API, all in the browser: a new classification
project, 20 tagged images uploaded, a refused training and a failed one each saying why in words, a training
watched to its end without a reload (phase and budget used; then the search's trials and best score), its
performance read at two thresholds (what get_iteration_performance answers), Publish, Quick Test with its
threshold, Unpublish and Delete. The prediction is checked with the SDK's prediction client, as a client runs it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from azure.cognitiveservices.vision.customvision.prediction.models import CustomVisionErrorException as PredictionError
from azure.cognitiveservices.vision.customvision.training.models import CustomVisionErrorException
from playwright.sync_api import Page, expect

from tests.api.customvision.conftest import CLASSIFIER_BUDGET_HOURS, jpeg, tree
from tests.portal.pages import (
    add_images,
    api_figures,
    create_project,
    page_figures,
    pictures,
    screenshot_both_sizes,
    sign_in,
    train,
)

TRAINING_TIMEOUT_S = 300
THRESHOLDS = (0, 70)  # percent: at 0 every tag is predicted for every image, so the figures differ
TOO_SMALL_BUDGET_HOURS = 0.0001  # 0.36 s: less than any model can train in, so the training fails, and says why


def test_sign_in_to_a_published_iteration_that_answers_the_prediction_api(
        browser_page, portal, screenshots: Path) -> None:
    test_image = jpeg(tree("cherry", 777))
    seen: dict = {}

    def flow(page: Page) -> None:
        sign_in(page, portal.url)
        create_project(page, "Trees", "hemlock or cherry")
        project_id = page.url.split("/projects/")[1].split("/")[0]
        seen["project"] = project_id

        # Nothing to train on yet: the dialog stays open with the API's reason.
        train(page, None, refused=True)
        dialog = page.get_by_role("dialog", name="Choose training type")
        with pytest.raises(CustomVisionErrorException) as refused:
            portal.trainer().train_project(project_id)
        expect(dialog.get_by_role("alert")).to_have_text(refused.value.message)
        dialog.get_by_role("button", name="Cancel").click()

        add_images(page, pictures("hemlock", 10, 0), new_tag="hemlock")
        add_images(page, pictures("cherry", 9, 100), new_tag="cherry")

        # A budget too small for any model: the iteration fails, and the page says why in words.
        train(page, TOO_SMALL_BUDGET_HOURS)
        failed = page.get_by_role("region", name="Iteration 1")
        expect(failed.get_by_test_id("iteration-status")).to_have_text("Failed", timeout=TRAINING_TIMEOUT_S * 1000)
        expect(failed.get_by_role("alert")).to_contain_text("Training failed: notEnoughBudget: ")
        seen["failure"] = failed.get_by_role("alert").inner_text()

        page.get_by_role("link", name="Training Images").click()
        add_images(page, pictures("cherry", 1, 109), tags=("cherry",))  # the 20th image

        # The real training, watched on the page: the figures change while it runs, and the page is never reloaded.
        train(page, CLASSIFIER_BUDGET_HOURS)
        page.evaluate("window.sameDocument = true")
        running = page.get_by_role("region", name="Iteration 2")
        expect(running.get_by_test_id("iteration-status")).to_have_text("Training")
        budget_seconds = round(CLASSIFIER_BUDGET_HOURS * 3600)
        expect(running.get_by_text(f" s of {budget_seconds} s")).to_be_visible()
        screenshot_both_sizes(page, screenshots, "training")
        phases = set()
        deadline = time.monotonic() + TRAINING_TIMEOUT_S
        status = running.get_by_test_id("iteration-status")
        while status.inner_text() == "Training" and time.monotonic() < deadline:
            figures = running.locator("dl.progress-figures dd").all_inner_texts()
            if figures:
                phases.add(figures[0])
            page.wait_for_timeout(250)
        seen["phases"] = phases
        expect(status).to_have_text("Completed")
        # What the search tried, read once it has ended: a small search can end between two polls of the page.
        summary = running.get_by_test_id("search-summary")
        expect(summary).to_have_text(re.compile(r" · \d+ trials?, best validation score \d{1,3}\.\d%"))
        seen["trials"] = int(summary.inner_text().split()[1])
        assert page.evaluate("window.sameDocument") is True
        expect(running.get_by_role("definition")).to_have_count(3)  # precision, recall and AP
        seen["overall"] = running.get_by_role("definition").all_inner_texts()
        expect(running.get_by_role("table")).to_contain_text("hemlock")
        for threshold in THRESHOLDS:  # the figures at two thresholds, read off the page
            running.get_by_label("Probability threshold").fill(str(threshold))
            expect(running.get_by_text(f"{threshold}%", exact=True)).to_be_visible()
            seen[threshold] = page_figures(running)
        screenshot_both_sizes(page, screenshots, "performance")

        # Publish, then check it from outside as a client would.
        running.get_by_role("button", name="Publish").click()
        publish = page.get_by_role("dialog", name="Publish Iteration 2")
        expect(publish.get_by_label("Publish name")).to_have_value("Iteration2")
        publish.get_by_role("button", name="Publish").click()
        expect(running.get_by_text("Published as Iteration2")).to_be_visible()
        answer = portal.predictor().classify_image(project_id, "Iteration2", test_image)
        seen["prediction"] = sorted(((p.tag_name, f"{p.probability * 100:.1f}%") for p in answer.predictions),
                                    key=lambda row: -float(row[1][:-1]))

        # Quick Test of the same picture: the same tags and probabilities; the threshold dims those under it.
        page.get_by_role("link", name="Quick Test").click()
        page.get_by_label("Image file").set_input_files([{"name": "test.jpg", "mimeType": "image/jpeg",
                                                          "buffer": test_image}])
        table = page.get_by_role("table", name="Predictions")
        expect(table.locator("tbody tr")).to_have_count(2)
        seen["quick_test"] = [tuple(row.locator("td").all_inner_texts()) for row in table.locator("tbody tr").all()]
        page.get_by_label("Probability threshold").fill("0")
        expect(page.get_by_text("2 tags at or above the threshold")).to_be_visible()
        page.get_by_label("Probability threshold").fill("50")
        expect(page.get_by_text("1 tag at or above the threshold")).to_be_visible()
        screenshot_both_sizes(page, screenshots, "quick-test")

        # Unpublish, and delete the failed iteration after a confirmation.
        page.get_by_role("link", name="Performance").click()
        running.get_by_role("button", name="Unpublish").click()
        page.get_by_role("dialog", name="Unpublish Iteration 2?").get_by_role("button", name="Unpublish").click()
        expect(running.get_by_text("Published as")).to_be_hidden()
        failed.get_by_role("button", name="Delete Iteration 1").click()
        page.get_by_role("dialog", name="Delete Iteration 1?").get_by_role("button", name="Delete").click()
        expect(failed).to_be_hidden()

    started = time.monotonic()
    drive = browser_page.drive(flow)
    assert drive.problems(expected_statuses=(400,)) == []
    assert [r.split()[:2] for r in drive.error_responses] == [["400", "POST"]]  # the one refused training
    assert seen["prediction"] == seen["quick_test"]
    assert {"searching", "succeeded"} & seen["phases"], seen["phases"]  # the phase was shown as it changed
    assert seen["trials"] >= 1
    assert all(re.fullmatch(r"\d{1,3}\.\d%", figure) for figure in seen["overall"]), seen["overall"]
    assert "need at least" in seen["failure"] or "ran out" in seen["failure"]
    trainer = portal.trainer()
    iterations = trainer.get_iterations(seen["project"])
    assert [(i.name, i.status, i.publish_name) for i in iterations] == [("Iteration 2", "Completed", None)]
    assert iterations[0].training_type == "Advanced"
    assert sum(tag.image_count for tag in trainer.get_tags(seen["project"])) == 20
    assert seen[THRESHOLDS[0]] != seen[THRESHOLDS[1]]
    for threshold in THRESHOLDS:
        answer = trainer.get_iteration_performance(seen["project"], iterations[0].id, threshold=threshold / 100)
        assert seen[threshold] == api_figures(answer), threshold
    with pytest.raises(PredictionError) as unpublished:  # the prediction API no longer answers
        portal.predictor().classify_image(seen["project"], "Iteration2", test_image)
    assert unpublished.value.error.code == "BadRequestIterationNotPublished"
    print(f"portal flow: {time.monotonic() - started:.0f} s")
