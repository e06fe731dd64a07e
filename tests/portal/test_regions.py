"""A detector's boxes on an image's page, with the mouse and the keys: two drawn, one moved, one resized by a corner
handle, one relabelled, one nudged with the arrow keys, one deleted with "Delete region" and one with the Delete key;
each change saved through the API at once, so that after a reload the one box left is where it was put, with its
tag, as the SDK reads it."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.portal.pages import Picture, add_images, detection_domain, pictures, screenshot_both_sizes, sign_in

TOLERANCE = 0.01  # a pixel or two of the image as the page shows it, normalized


def test_boxes_are_drawn_moved_resized_relabelled_and_deleted(browser_page, portal, screenshots: Path) -> None:
    trainer = portal.trainer()
    project = trainer.create_project("Orchard", domain_id=detection_domain(trainer))
    apple = trainer.create_tag(project.id, "apple")
    pear = trainer.create_tag(project.id, "pear")
    seen: dict = {}

    def flow(page: Page) -> None:
        sign_in(page, portal.url)
        page.get_by_role("link", name="Orchard").click()
        add_images(page, pictures("cherry", 1, 300))
        page.get_by_role("link", name="Untagged").click()
        page.get_by_role("link", name="Untagged image").click()
        seen["image"] = page.url.rsplit("/", 1)[1]
        picture = Picture(page)
        regions = page.get_by_role("list", name="Regions of this image").get_by_role("button")
        saved = page.get_by_role("status")
        tag = page.get_by_label("Region tag")

        # Two boxes drawn: an apple, then (nothing selected, the tag changed) a pear.
        tag.select_option(label="apple")
        picture.drag((0.1, 0.1), (0.4, 0.5))
        expect(saved).to_have_text("All changes saved")
        expect(regions).to_have_text(["Region 1: apple"])
        picture.click(0.7, 0.2)  # beside every box: nothing selected
        expect(page.get_by_role("button", name="Delete region")).to_be_disabled()
        tag.select_option(label="pear")
        picture.drag((0.5, 0.5), (0.9, 0.9))
        expect(saved).to_have_text("All changes saved")
        expect(regions).to_have_text(["Region 1: apple", "Region 2: pear"])
        screenshot_both_sizes(page, screenshots, "regions")
        picture = Picture(page)  # the same place again, once back at 1280x800

        # The apple moved by its middle, the pear resized by its bottom-right corner.
        picture.drag((0.25, 0.3), (0.35, 0.4))  # -> 0.2, 0.2, 0.3 x 0.4
        expect(saved).to_have_text("All changes saved")
        picture.click(0.7, 0.7)
        expect(regions.nth(1)).to_have_attribute("aria-pressed", "true")
        picture.drag((0.9, 0.9), (0.95, 0.8))  # -> 0.5, 0.5, 0.45 x 0.3
        expect(saved).to_have_text("All changes saved")

        # The apple relabelled a pear, and nudged two steps right with the keys.
        picture.click(0.3, 0.3)
        expect(regions.nth(0)).to_have_attribute("aria-pressed", "true")
        tag.select_option(label="pear")
        expect(saved).to_have_text("All changes saved")
        expect(regions.nth(0)).to_have_text("Region 1: pear")
        picture.click(0.3, 0.3)
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")  # -> 0.22, 0.2
        expect(saved).to_have_text("All changes saved")

        # The resized pear deleted with the button; a third box drawn and deleted with the Delete key.
        regions.nth(1).click()
        page.get_by_role("button", name="Delete region").click()
        expect(saved).to_have_text("All changes saved")
        expect(regions).to_have_count(1)
        picture.drag((0.6, 0.1), (0.8, 0.3))
        expect(saved).to_have_text("All changes saved")
        expect(regions).to_have_count(2)
        page.keyboard.press("Delete")
        expect(saved).to_have_text("All changes saved")
        expect(regions).to_have_count(1)

        page.reload()
        expect(regions).to_have_text(["Region 1: pear"])
        Picture(page)
        screenshot_both_sizes(page, screenshots, "regions-reloaded")

    drive = browser_page.drive(flow)
    assert drive.problems() == []
    [image] = trainer.get_images_by_ids(project.id, [seen["image"]])
    [region] = image.regions
    assert region.tag_id == pear.id and region.tag_name == "pear"
    expected = {"left": 0.22, "top": 0.2, "width": 0.3, "height": 0.4}
    got = {name: getattr(region, name) for name in expected}
    assert all(abs(got[name] - expected[name]) <= TOLERANCE for name in expected), got
    assert apple.id not in {t.tag_id for t in image.tags or []}
    [tagged] = trainer.get_tagged_images(project.id)
    assert [(r.tag_name, round(r.left, 2)) for r in tagged.regions] == [("pear", 0.22)]
