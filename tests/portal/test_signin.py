"""Sign-in: a wrong key is refused with the API's own words and nothing is kept; the right key opens the projects,
stays for the tab's session (a reload keeps it) and goes on Sign out."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tailor.api.customvision.gateway import UNAUTHORIZED_MESSAGE
from tests.api.conftest import TRAINING_KEY
from tests.portal.pages import screenshot_both_sizes, sign_in


def test_a_wrong_key_is_refused_in_the_apis_words_and_the_right_one_is_kept_for_the_session(
        browser_page, portal, screenshots: Path) -> None:
    def flow(page: Page) -> dict:
        page.goto(portal.url + "/")
        page.get_by_label("Training key").fill("not-a-key")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text(UNAUTHORIZED_MESSAGE)
        wrong_kept = page.evaluate("sessionStorage.getItem('tailor.trainingKey')")
        screenshot_both_sizes(page, screenshots, "sign-in-refused")

        sign_in(page, portal.url)
        empty = page.get_by_text("No projects yet")
        expect(empty).to_be_visible()  # the list has loaded: a reload now aborts no request of the page's
        kept = page.evaluate("sessionStorage.getItem('tailor.trainingKey')")
        page.reload()
        expect(page.get_by_role("heading", name="Projects")).to_be_visible()
        expect(empty).to_be_visible()
        screenshot_both_sizes(page, screenshots, "projects-empty")
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_label("Training key")).to_be_visible()
        return {"wrong": wrong_kept, "kept": kept,
                "after": page.evaluate("sessionStorage.getItem('tailor.trainingKey')"),
                "cookies": page.context.cookies()}

    drive = browser_page.drive(flow)
    assert drive.result == {"wrong": None, "kept": TRAINING_KEY, "after": None, "cookies": []}
    assert drive.problems(expected_statuses=(401,)) == []
    assert [r.split()[0] for r in drive.error_responses] == ["401"]  # the one wrong key, and nothing else
    assert sorted(p.name for p in screenshots.iterdir()) == [
        "projects-empty-1280x800.png", "projects-empty-390x844.png",
        "sign-in-refused-1280x800.png", "sign-in-refused-390x844.png"]
