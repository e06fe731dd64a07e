"""COCO in the portal: "Import COCO" on Training Images. A file with two problems shows both in the dialog and
imports nothing; the file put right imports its images with their tags, and the grid shows them."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from tests.api.customvision.conftest import jpeg, tree
from tests.api.customvision.test_coco_import import classification_file as coco_file
from tests.portal.pages import screenshot_both_sizes, sign_in


def as_upload(name: str, coco: dict) -> dict:
    return {"name": name, "mimeType": "application/json", "buffer": json.dumps(coco).encode()}


def test_import_coco_shows_every_problem_then_imports(browser_page, portal, azurite, screenshots) -> None:
    trainer = portal.trainer()
    project = trainer.create_project("Imported orchard", classification_type="Multilabel")
    azurite.container("portal-coco", public=True)
    urls = [azurite.upload("portal-coco", f"tree{k}.jpg", jpeg(tree("hemlock", 40 + k))) for k in range(3)]
    good = coco_file(urls)
    broken = coco_file(urls)
    broken["images"][1]["width"] = -5
    broken["annotations"][0]["category_id"] = 9
    counts_after_refusal = []

    def flow(page: Page) -> None:
        sign_in(page, portal.url)
        page.goto(f"{portal.url}/#/projects/{project.id}/images")
        page.get_by_role("button", name="Import COCO").click()
        dialog = page.get_by_role("dialog", name="Import COCO")
        dialog.get_by_label("COCO file", exact=True).set_input_files(as_upload("orchard.json", broken))
        dialog.get_by_role("button", name="Import").click()
        expect(dialog.get_by_role("alert")).to_contain_text("2 problems in the COCO file: nothing was imported")
        problems = dialog.get_by_role("list", name="Problems").get_by_role("listitem")
        expect(problems).to_have_count(2)
        expect(problems.nth(0)).to_contain_text("orchard.json › images[1].width")
        expect(problems.nth(0)).to_contain_text("the width in pixels must be at least 1, got -5")
        expect(problems.nth(1)).to_contain_text("orchard.json › annotations[0].category_id")
        screenshot_both_sizes(page, screenshots, "import-coco")
        counts_after_refusal.append((trainer.get_image_count(project.id), len(trainer.get_tags(project.id))))

        dialog.get_by_label("COCO file", exact=True).set_input_files(as_upload("orchard.json", good))
        dialog.get_by_role("button", name="Import").click()
        expect(dialog).to_be_hidden()
        expect(page.get_by_role("status")).to_have_text("Imported 3 of 3 images; tags created: hemlock, tall.")
        expect(page.get_by_text("Page 1 of 1 · 2 images")).to_be_visible()
        expect(page.get_by_role("link", name="Image tagged")).to_have_count(2)
        expect(page.get_by_role("link", name="tall")).to_have_count(1)
        expect(page.get_by_role("list", name="Tags")).to_contain_text("hemlock")
        page.get_by_role("link", name="Untagged").click()
        expect(page.get_by_text("Page 1 of 1 · 1 images")).to_be_visible()

    drive = browser_page.drive(flow)
    assert drive.problems(expected_statuses=(400,)) == []
    assert [r.split()[:2] for r in drive.error_responses] == [["400", "POST"]]  # the broken file, on purpose
    assert counts_after_refusal == [(0, 0)]
    assert {t.name: t.image_count for t in trainer.get_tags(project.id)} == {"hemlock": 2, "tall": 1}
