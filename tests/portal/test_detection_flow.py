"""The whole detection flow in the browser, as issue 16's "Done when" has a person do it: a new detection project,
20 images uploaded and a box drawn on each with the mouse, a training watched to its end, the performance read at
two thresholds (what get_iteration_performance answers), Quick Test drawing the boxes, Publish, and a prediction
from the SDK's prediction client."""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from tests.api.customvision.conftest import jpeg
from tests.portal.pages import (
    Picture,
    add_images,
    api_figures,
    create_project,
    page_figures,
    screenshot_both_sizes,
    sign_in,
    train,
)

IMAGES = 20
SIZE = (160, 120)
TRAINING_TIMEOUT_S = 600
THRESHOLDS = (10, 60)  # percent
# A purple disc on a pale ground is found after a few epochs: 72 s train about 25 of them on two CPU cores.
BUDGET_HOURS = 0.02


def plum(seed: int) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """A purple disc somewhere on a pale, speckled ground; its box as left, top, right, bottom (normalized)."""
    rng = random.Random(seed)
    image = Image.new("RGB", SIZE, (225 + rng.randint(-15, 15), 220, 200 + rng.randint(-15, 15)))
    draw = ImageDraw.Draw(image)
    for _ in range(30):
        x, y = rng.randrange(SIZE[0]), rng.randrange(SIZE[1])
        draw.point((x, y), fill=(rng.randrange(150, 255),) * 3)
    radius = rng.randint(18, 28)
    cx, cy = rng.randint(radius, SIZE[0] - radius), rng.randint(radius, SIZE[1] - radius)
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(110, 40, 120))
    w, h = SIZE
    return image, ((cx - radius) / w, (cy - radius) / h, (cx + radius) / w, (cy + radius) / h)


def test_a_detector_from_drawn_boxes_to_a_published_iteration(browser_page, portal, screenshots: Path) -> None:
    plums = [plum(k) for k in range(IMAGES + 1)]
    seen: dict = {}

    def flow(page: Page) -> None:
        sign_in(page, portal.url)
        create_project(page, "Plums", "plums on a table", detection=True)
        seen["project"] = page.url.split("/projects/")[1].split("/")[0]
        images_tab = page.url
        page.get_by_label("Tag name").fill("plum")
        page.get_by_role("button", name="Create tag").click()
        expect(page.get_by_text(re.compile(r"^plum\b")).first).to_be_visible()
        for k, (image, (left, top, right, bottom)) in enumerate(plums[:IMAGES]):
            add_images(page, [{"name": f"plum_{k}.jpg", "mimeType": "image/jpeg", "buffer": jpeg(image)}])
            page.get_by_role("link", name="Untagged", exact=True).click()
            page.get_by_role("link", name="Untagged image").click()
            page.get_by_label("Region tag").select_option(label="plum")
            Picture(page).drag((left, top), (right, bottom))
            expect(page.get_by_role("status")).to_have_text("All changes saved")
            if k == 0:
                screenshot_both_sizes(page, screenshots, "detection-box")
            page.goto(images_tab)
        # The Tagged view: every image, each named by its box's tag.
        expect(page.get_by_text(re.compile(r"· 20 images$"))).to_be_visible()
        expect(page.get_by_role("link", name="Image tagged plum").first).to_be_visible()
        expect(page.get_by_role("link", name="Untagged image")).to_have_count(0)

        train(page, BUDGET_HOURS)
        page.get_by_role("link", name="Performance").click()
        card = page.get_by_role("region", name="Iteration 1")
        expect(card.get_by_test_id("iteration-status")).to_have_text("Completed", timeout=TRAINING_TIMEOUT_S * 1000)
        for threshold in THRESHOLDS:
            card.get_by_label("Probability threshold").fill(str(threshold))
            expect(card.get_by_text(f"{threshold}%", exact=True).first).to_be_visible()
            seen[threshold] = page_figures(card)
        screenshot_both_sizes(page, screenshots, "detection-performance")

        card.get_by_role("button", name="Publish").click()
        publish = page.get_by_role("dialog", name="Publish Iteration 1")
        publish.get_by_label("Publish name").fill("plums")
        publish.get_by_role("button", name="Publish").click()
        expect(card.get_by_text("Published as plums")).to_be_visible()

        page.get_by_role("link", name="Quick Test").click()
        page.get_by_label("Image file").set_input_files(
            [{"name": "test.jpg", "mimeType": "image/jpeg", "buffer": jpeg(plums[IMAGES][0])}])
        page.get_by_label("Probability threshold").fill("30")
        boxes = page.get_by_test_id("prediction-boxes")
        expect(boxes.locator("*").first).to_be_visible(timeout=60_000)
        seen["quick test boxes"] = boxes.locator("*").count()
        screenshot_both_sizes(page, screenshots, "detection-quick-test")

    started = time.monotonic()
    drive = browser_page.drive(flow)
    assert drive.problems() == []
    assert drive.error_responses == []
    trainer = portal.trainer()
    project = seen["project"]
    iteration = next(i for i in trainer.get_iterations(project) if i.status == "Completed")
    tagged = trainer.get_tagged_images(project, take=50)
    assert len(tagged) == IMAGES and all(len(image.regions) == 1 for image in tagged)
    for threshold in THRESHOLDS:
        answer = trainer.get_iteration_performance(project, iteration.id, threshold=threshold / 100,
                                                   overlap_threshold=0.3)
        assert seen[threshold] == api_figures(answer), threshold
    assert seen["quick test boxes"] >= 1
    predicted = portal.predictor().detect_image(project, "plums", jpeg(plums[IMAGES][0]))
    best = max(predicted.predictions, key=lambda p: p.probability)
    left, top, right, bottom = plums[IMAGES][1]
    box = best.bounding_box
    assert best.tag_name == "plum"
    # The best box lands on the plum: its centre inside the drawn disc's box.
    assert left < box.left + box.width / 2 < right and top < box.top + box.height / 2 < bottom, (box, plums[IMAGES][1])
    print(f"detection flow: {time.monotonic() - started:.0f} s, best box {best.probability:.2f}", seen)
