"""Training Images: tags created in the project; "Add images" by the file chooser and by drag and drop, many at once,
with the tags chosen (or typed) for them and a progress bar, a refused file named with its reason; the Tagged and
Untagged views with paging and the tag filter; one image's page adding and removing a tag."""

from __future__ import annotations

import base64
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.portal.pages import pictures, screenshot_both_sizes, sign_in

DROP = """([zone, files]) => {
  const transfer = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], f.name, { type: f.type }));
  }
  zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
}"""


def drop(page: Page, files: list[dict]) -> None:
    sent = [{"name": f["name"], "type": f["mimeType"], "data": base64.b64encode(f["buffer"]).decode()} for f in files]
    page.get_by_test_id("drop-zone").evaluate(DROP.replace("([zone, files])", "(zone, files)"), sent)


def test_images_are_added_tagged_browsed_and_retagged(browser_page, portal, screenshots: Path) -> None:
    project = portal.trainer().create_project("Trees")
    bogus = {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"not a picture at all"}

    def flow(page: Page) -> None:
        sign_in(page, portal.url)
        page.get_by_role("link", name="Trees").click()
        expect(page.get_by_role("link", name="Training Images")).to_have_attribute("aria-current", "page")
        page.get_by_label("Tag name").fill("hemlock")
        page.get_by_role("button", name="Create tag").click()
        expect(page.get_by_role("list", name="Tags")).to_contain_text("hemlock")
        page.get_by_label("Tag name").fill("Hemlock")  # names are unique without case: the API says so
        page.get_by_role("button", name="Create tag").click()
        expect(page.get_by_role("alert")).to_contain_text("already has a tag named 'Hemlock'")

        # Five hemlocks by the file chooser, tagged with the existing tag.
        page.get_by_role("button", name="Add images").click()
        dialog = page.get_by_role("dialog", name="Add images")
        dialog.get_by_label("Images").set_input_files(pictures("hemlock", 5, 0))
        expect(dialog.get_by_text("5 images chosen.")).to_be_visible()
        dialog.get_by_label("hemlock").check()
        dialog.get_by_role("button", name="Upload").click()
        expect(dialog).to_be_hidden()

        # Four cherries dropped on the dialog, with a tag typed in: created, then given to each of them.
        page.get_by_role("button", name="Add images").click()
        dialog = page.get_by_role("dialog", name="Add images")
        drop(page, pictures("cherry", 4, 100))
        expect(dialog.get_by_text("4 images chosen.")).to_be_visible()
        dialog.get_by_label("New tag").fill("cherry")
        dialog.get_by_role("button", name="Upload").click()
        expect(dialog).to_be_hidden()

        # Two untagged pictures and a file that is no picture: the two go in, the third is named with its reason.
        page.get_by_role("button", name="Add images").click()
        dialog = page.get_by_role("dialog", name="Add images")
        dialog.get_by_label("Images").set_input_files(pictures("hemlock", 2, 50) + [bogus])
        dialog.get_by_role("button", name="Upload").click()
        expect(dialog.get_by_text("Uploaded 3 of 3")).to_be_visible()
        expect(dialog.get_by_label("Upload progress")).to_have_attribute("value", "3")
        expect(dialog.get_by_role("alert")).to_have_text(
            "1 of the images were not added: notes.jpg is not an image format Tailor reads "
            "(JPEG, PNG, BMP, GIF, TIFF, WebP)")
        screenshot_both_sizes(page, screenshots, "add-images")
        dialog.get_by_role("button", name="Cancel").click()

        # The Tagged view, four to a page, then filtered by tag.
        page.goto(f"{portal.url}/#/projects/{project.id}/images?pageSize=4")
        images = page.get_by_role("list", name="Images").get_by_role("link")
        expect(page.get_by_text("Page 1 of 3 · 9 images")).to_be_visible()
        expect(images).to_have_count(4)
        expect(page.get_by_role("list", name="Images").locator("img[src^='blob:']")).to_have_count(4)
        screenshot_both_sizes(page, screenshots, "tagged-images")
        page.get_by_role("button", name="Next page").click()
        page.get_by_role("button", name="Next page").click()
        expect(page.get_by_text("Page 3 of 3 · 9 images")).to_be_visible()
        expect(images).to_have_count(1)
        expect(page.get_by_role("button", name="Next page")).to_be_disabled()
        page.get_by_label("Filter by tag").select_option(label="cherry")
        expect(page.get_by_text("Page 1 of 1 · 4 images")).to_be_visible()
        expect(images).to_have_count(4)
        expect(page.get_by_role("link", name="Image tagged cherry")).to_have_count(4)

        # The Untagged view; one of its images tagged, then untagged again, on its own page.
        page.get_by_role("link", name="Untagged").click()
        expect(page.get_by_text("Page 1 of 1 · 2 images")).to_be_visible()
        page.get_by_role("link", name="Untagged image").first.click()
        tags = page.get_by_role("list", name="Tags of this image")
        expect(tags).to_have_text("Untagged")
        page.get_by_label("Tag", exact=True).select_option(label="hemlock")
        page.get_by_role("button", name="Add tag").click()
        expect(tags).to_contain_text("hemlock")
        screenshot_both_sizes(page, screenshots, "image")
        page.get_by_role("button", name="Add tag").click()  # cherry as well: a second tag
        expect(page.get_by_role("button", name="Remove tag cherry")).to_be_visible()
        page.get_by_role("button", name="Remove tag cherry").click()
        expect(page.get_by_role("button", name="Remove tag cherry")).to_be_hidden()
        page.get_by_role("link", name="Back to images").click()
        page.get_by_role("link", name="Untagged").click()
        expect(page.get_by_text("Page 1 of 1 · 1 images")).to_be_visible()

    drive = browser_page.drive(flow)
    assert drive.problems(expected_statuses=(400,)) == []
    # The one refusal provoked on purpose (the duplicate tag); the bogus file is refused inside a 207.
    assert [r.split()[:2] for r in drive.error_responses] == [["400", "POST"]]
    trainer = portal.trainer()
    counts = {t.name: t.image_count for t in trainer.get_tags(project.id)}
    assert counts == {"hemlock": 6, "cherry": 4}
    assert trainer.get_untagged_image_count(project.id) == 1
