"""Predictions and suggestions in the browser, on one small trained classifier: "Get suggested tags" on the Untagged
view (the Smart Labeler of the Custom Vision API) lists the untagged images the least sure first, in the order the
API's query_suggested_images gives; "Confirm" tags one image (checked through the SDK), "Confirm all" the rest, and
the Untagged view is then empty. A Quick Test (which stores its image) shows on the Predictions tab, is added to the
training images with a tag chosen, and is deleted."""

from __future__ import annotations

import re
import time
from pathlib import Path

from azure.cognitiveservices.vision.customvision.training.models import (
    PredictionQueryToken,
    SuggestedTagAndRegionQueryToken,
)
from playwright.sync_api import Page, expect

from tests.api.customvision.conftest import jpeg, tree
from tests.portal.pages import add_images, create_project, pictures, screenshot_both_sizes, sign_in

TRAINING_TIMEOUT_S = 300
UNTAGGED = 5


def test_suggested_tags_confirmed_and_stored_predictions(browser_page, portal, screenshots: Path) -> None:
    trainer = portal.trainer()
    seen: dict = {}

    def flow(page: Page) -> None:
        sign_in(page, portal.url)
        create_project(page, "Smart labels", "hemlock or cherry, some left untagged")
        project_id = page.url.split("/projects/")[1].split("/")[0]
        seen["project"] = project_id
        add_images(page, pictures("hemlock", 8, 0), new_tag="hemlock")
        add_images(page, pictures("cherry", 7, 100), new_tag="cherry")
        add_images(page, pictures("hemlock", 3, 200) + pictures("cherry", UNTAGGED - 3, 300))

        # No trained iteration yet: the suggestions view says so.
        page.get_by_role("link", name="Untagged").click()
        page.get_by_role("button", name="Get suggested tags").click()
        expect(page.get_by_test_id("suggestion-status")).to_have_text(
            "No trained iteration yet: Train first, then get suggested tags.")

        started = time.monotonic()
        iteration = trainer.train_project(project_id)  # Regular: the fixture's default, CLASSIFIER_BUDGET_HOURS
        while iteration.status == "Training" and time.monotonic() - started < TRAINING_TIMEOUT_S:
            time.sleep(1)
            iteration = trainer.get_iteration(project_id, iteration.id)
        assert iteration.status == "Completed", iteration.status
        seen["training_s"] = time.monotonic() - started

        page.get_by_role("link", name="Training Images").click()
        page.get_by_role("link", name="Untagged").click()
        page.get_by_role("button", name="Get suggested tags").click()
        status = page.get_by_test_id("suggestion-status")
        expect(status).to_have_text(f"{UNTAGGED} untagged images with suggestions", timeout=60_000)
        expect(page.get_by_label("Iteration")).to_have_value(iteration.id)
        cards = page.get_by_role("list", name="Suggestions").locator("li.suggestion")
        expect(cards).to_have_count(UNTAGGED)
        shown = [card.get_attribute("data-image-id") for card in cards.all()]
        uncertainties = [float(t.split()[1][:-1]) for t in cards.get_by_test_id("uncertainty").all_inner_texts()]
        asked = trainer.query_suggested_images(project_id, iteration.id, SuggestedTagAndRegionQueryToken(
            threshold=0.0, max_count=50, sort_by="UncertaintyDescending"))
        seen["order"] = (shown, [r.id for r in asked.results])
        seen["uncertainties"] = uncertainties
        seen["suggested"] = [[(p.tag_name, round(p.probability, 3)) for p in r.predictions] for r in asked.results]
        screenshot_both_sizes(page, screenshots, "suggested-tags")

        # Confirm the least sure one: it gets its best suggested tag and leaves the list.
        first = cards.first
        best = first.locator("li.counted span").first.inner_text()
        first.get_by_role("button", name="Confirm", exact=True).click()
        expect(cards).to_have_count(UNTAGGED - 1)
        image = trainer.get_images_by_ids(project_id, [shown[0]])[0]
        seen["confirmed"] = (best, [t.tag_name for t in image.tags])

        # Confirm all: the rest are tagged, and the Untagged view is empty.
        page.get_by_label("Suggestion threshold").fill("0")
        page.get_by_role("button", name="Confirm all").click()
        expect(page.get_by_role("list", name="Suggestions")).to_have_text("No untagged images.")
        page.get_by_role("link", name="Untagged").click()
        expect(page.get_by_role("list", name="Images")).to_have_text("No untagged images.")
        seen["untagged_after"] = trainer.get_untagged_image_count(project_id)

        # A Quick Test keeps its image: it shows on Predictions, goes into training with a tag, and is deleted.
        page.get_by_role("link", name="Quick Test").click()
        page.get_by_label("Image file").set_input_files([{"name": "test.jpg", "mimeType": "image/jpeg",
                                                          "buffer": jpeg(tree("cherry", 777))}])
        expect(page.get_by_role("table", name="Predictions").locator("tbody tr")).to_have_count(2)
        page.get_by_role("link", name="Predictions").click()
        stored = page.get_by_role("list", name="Predictions").locator("li.suggestion")
        expect(stored).to_have_count(1)
        expect(stored.get_by_role("list", name="Predicted tags")).to_contain_text("cherry")
        screenshot_both_sizes(page, screenshots, "predictions")
        tagged_before = trainer.get_tagged_image_count(project_id)
        stored.get_by_role("button", name="Add to training images").click()
        dialog = page.get_by_role("dialog", name="Add to training images")
        dialog.get_by_label("hemlock", exact=True).uncheck()
        dialog.get_by_label("cherry", exact=True).check()
        dialog.get_by_role("button", name="Add").click()
        expect(dialog).to_be_hidden()
        expect(stored.get_by_text("Added to training images")).to_be_visible()
        seen["tagged_added"] = trainer.get_tagged_image_count(project_id) - tagged_before
        stored.get_by_role("button", name="Delete").click()
        expect(stored).to_have_count(0)
        expect(page.get_by_role("list", name="Predictions")).to_have_text("No stored predictions.")
        seen["stored_after"] = trainer.query_predictions(project_id, PredictionQueryToken(max_count=50)).results

    started = time.monotonic()
    drive = browser_page.drive(flow)
    assert drive.problems() == []
    shown, asked = seen["order"]
    assert shown == asked, seen  # the portal's order is the API's: the least sure first
    assert seen["uncertainties"] == sorted(seen["uncertainties"], reverse=True)
    best, tags = seen["confirmed"]
    assert tags == [best]
    assert seen["untagged_after"] == 0
    assert seen["tagged_added"] == 1
    assert seen["stored_after"] == []
    print(f"suggestions flow: {time.monotonic() - started:.0f} s (training {seen['training_s']:.0f} s); "
          f"suggestions {seen['suggested']}")


def test_a_detectors_suggested_boxes_are_drawn_and_confirmed_as_regions(browser_page, portal, screenshots: Path) -> None:
    """A detector's suggestions without training one (a trained detector takes minutes on a CPU): the iteration list
    and suggest_tags_and_regions are answered by the test, as the API answers them (boxes normalized to the image,
    predictionUncertainty 1 less the least sure box); the boxes drawn, the threshold, and Confirm and Confirm all
    creating the regions through the real API are the portal's."""
    trainer = portal.trainer()
    seen: dict = {}

    def flow(page: Page) -> None:
        sign_in(page, portal.url)
        create_project(page, "Boxes", "forks", detection=True)
        project_id = page.url.split("/projects/")[1].split("/")[0]
        fork = trainer.create_tag(project_id, "fork")
        page.reload()
        add_images(page, pictures("hemlock", 2, 400))
        sure, unsure = (i.id for i in trainer.get_untagged_images(project_id))
        seen["ids"] = (unsure, sure)
        iteration = {"id": "00000000-0000-0000-0000-00000000d7ec", "name": "Iteration 1", "status": "Completed",
                     "created": "2026-12-01T00:00:00Z", "lastModified": "2026-12-01T00:00:00Z", "projectId": project_id,
                     "exportable": False, "domainId": None, "trainingType": "Regular",
                     "reservedBudgetInHours": 0, "trainingTimeInMinutes": 1, "publishName": None}

        def box(probability: float, left: float, top: float) -> dict:
            return {"probability": probability, "tagId": fork.id, "tagName": "fork", "tagType": "Regular",
                    "boundingBox": {"left": left, "top": top, "width": 0.3, "height": 0.4}}

        answers = {sure: [box(0.9, 0.1, 0.1)], unsure: [box(0.8, 0.5, 0.4), box(0.3, 0.05, 0.5)]}

        def suggestions(route) -> None:
            ids = route.request.url.split("imageIds=")[1].split("&")[0].replace("%2C", ",").split(",")
            seen.setdefault("asked", []).append(route.request.url)
            route.fulfill(json=[{"id": i, "project": project_id, "iteration": iteration["id"],
                                 "created": "2026-12-01T00:00:00Z", "predictions": answers[i],
                                 "predictionUncertainty": 1 - min(p["probability"] for p in answers[i])}
                                for i in ids])

        page.route(re.compile(rf".*/projects/{project_id}/iterations$"), lambda route: route.fulfill(json=[iteration]))
        page.route(re.compile(r".*/tagsandregions/suggestions\?.*"), suggestions)
        page.get_by_role("link", name="Untagged").click()
        page.get_by_role("button", name="Get suggested tags").click()
        expect(page.get_by_test_id("suggestion-status")).to_have_text("2 untagged images with suggestions")
        cards = page.get_by_role("list", name="Suggestions").locator("li.suggestion")
        seen["order"] = [card.get_attribute("data-image-id") for card in cards.all()]
        expect(cards.first.get_by_test_id("suggested-box")).to_have_count(1)  # 80%; the 30% one is under 50%
        page.get_by_label("Suggestion threshold").fill("20")
        expect(cards.first.get_by_test_id("suggested-box")).to_have_count(2)
        screenshot_both_sizes(page, screenshots, "suggested-boxes")
        page.get_by_label("Suggestion threshold").fill("50")
        cards.first.get_by_role("button", name="Confirm", exact=True).click()
        expect(cards).to_have_count(1)
        seen["unsure"] = [(r.tag_name, round(r.left, 3), round(r.top, 3))
                          for r in trainer.get_images_by_ids(project_id, [unsure])[0].regions]
        page.get_by_role("button", name="Confirm all").click()
        expect(page.get_by_role("list", name="Suggestions")).to_have_text("No untagged images.")
        seen["sure"] = [(r.tag_name, round(r.left, 3)) for r in trainer.get_images_by_ids(project_id, [sure])[0].regions]
        seen["untagged_after"] = trainer.get_untagged_image_count(project_id)

    drive = browser_page.drive(flow)
    assert drive.problems() == []
    assert len(seen["asked"]) == 1  # both images in one call
    assert tuple(seen["order"]) == seen["ids"]  # the least sure first: 1 less 30% before 1 less 90%
    assert seen["unsure"] == [("fork", 0.5, 0.4)]  # only the box at or above the threshold
    assert seen["sure"] == [("fork", 0.1)]
    assert seen["untagged_after"] == 0
