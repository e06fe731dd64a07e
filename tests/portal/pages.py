"""What the portal's tests do on a page, as a person does it: sign in, take a screenshot at both sizes a page must
work at, create a project, add images, train, read a Performance card's figures (and the API's, shaped alike), drag
boxes on an image. Each helper runs inside a `browser_page.drive` flow (Playwright's thread)."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.api.conftest import TRAINING_KEY
from tests.api.customvision.conftest import jpeg, tree

DESKTOP = (1280, 800)
PHONE = (390, 844)


def sign_in(page: Page, url: str, key: str = TRAINING_KEY) -> None:
    page.goto(url + "/")
    page.get_by_label("Training key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()


def screenshot_both_sizes(page: Page, folder: Path, name: str) -> list[Path]:
    """A PNG of the page at 1280x800 and at 390x844; at the phone's width nothing may stick out sideways (a page
    wider than the screen scrolls sideways, which is what "does not work on a phone" looks like)."""
    taken = []
    for width, height in (DESKTOP, PHONE):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(100)  # the layout settles at the new width
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} is {overflow} px wider than the {width} px screen"
        path = folder / f"{name}-{width}x{height}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    return taken


def create_project(page: Page, name: str, description: str, detection: bool = False, multilabel: bool = False,
                   domain: str = "General") -> None:
    page.get_by_role("button", name="New project").click()
    dialog = page.get_by_role("dialog", name="Create new project")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Description").fill(description)
    if detection:
        dialog.get_by_label("Object detection").check()
    elif multilabel:
        dialog.get_by_label("Multilabel (several tags per image)").check()
    dialog.get_by_label("Domain").select_option(label=domain)
    dialog.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()


def add_images(page: Page, files: list[dict], new_tag: str = "", tags: tuple[str, ...] = ()) -> None:
    """"Add images" by the file chooser, with existing `tags` checked and `new_tag` typed in."""
    page.get_by_role("button", name="Add images").click()
    dialog = page.get_by_role("dialog", name="Add images")
    dialog.get_by_label("Images").set_input_files(files)
    for tag in tags:
        dialog.get_by_label(tag, exact=True).check()
    if new_tag:
        dialog.get_by_label("New tag").fill(new_tag)
    dialog.get_by_role("button", name="Upload").click()
    expect(dialog).to_be_hidden()


def pictures(kind: str, count: int, first_seed: int) -> list[dict]:
    """Drawn trees ("hemlock" or "cherry") as Playwright's set_input_files takes files."""
    return [{"name": f"{kind}_{k}.jpg", "mimeType": "image/jpeg", "buffer": jpeg(tree(kind, first_seed + k))}
            for k in range(count)]


def train(page: Page, budget_hours: float | None, refused: bool = False) -> None:
    page.get_by_role("button", name="Train").click()
    dialog = page.get_by_role("dialog", name="Choose training type")
    if budget_hours is None:
        expect(dialog.get_by_label("Quick")).to_be_checked()  # the default
    else:
        dialog.get_by_label("Advanced").check()
        dialog.get_by_label("Budget in hours").fill(str(budget_hours))
    dialog.get_by_role("button", name="Train").click()
    if not refused:
        expect(dialog).to_be_hidden()


def page_figures(card) -> dict:
    overall = card.locator("dl.overall dd").all_inner_texts()
    rows = {cells[0]: cells[1:] for cells in
            (row.locator("td").all_inner_texts() for row in card.locator("tbody tr").all())}
    return {"overall": overall, "per_tag": rows}


def api_figures(performance) -> dict:
    """The SDK's IterationPerformance (or performance.py's), as the page shows it."""
    def shown(value):
        return "–" if value is None else f"{value * 100:.1f}%"

    return {"overall": [shown(performance.precision), shown(performance.recall), shown(performance.average_precision)],
            "per_tag": {t.name: [shown(t.precision), shown(t.recall), shown(t.average_precision)]
                        for t in getattr(performance, "per_tag_performance", None) or performance.per_tag}}


def detection_domain(trainer) -> str:
    return next(d.id for d in trainer.get_domains() if d.type == "ObjectDetection" and d.name == "General")


class Picture:
    """The image on the page: normalized coordinates to the screen's, for page.mouse."""

    def __init__(self, page: Page):
        self.page = page
        image = page.get_by_role("img", name="The image")
        expect(image).to_have_attribute("src", re.compile("^blob:"))
        page.wait_for_function("document.querySelector('img.full').complete")
        self.box = image.bounding_box()

    def point(self, x: float, y: float) -> tuple[float, float]:
        return self.box["x"] + x * self.box["width"], self.box["y"] + y * self.box["height"]

    def drag(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        mouse = self.page.mouse
        mouse.move(*self.point(*start))
        mouse.down()
        mouse.move(*self.point(*end), steps=6)
        mouse.up()

    def click(self, x: float, y: float) -> None:
        self.page.mouse.click(*self.point(x, y))
