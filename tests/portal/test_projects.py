"""Projects: "New project" with the Custom Vision dialog's fields (the domains are get_domains'), the list, and delete
with a confirmation that Cancel backs out of. What the page did is checked through the SDK, as a client sees it."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.portal.pages import create_project, screenshot_both_sizes, sign_in


def test_new_projects_of_each_kind_are_listed_and_deleted_only_once_confirmed(
        browser_page, portal, screenshots: Path) -> None:
    def flow(page: Page) -> list[str]:
        sign_in(page, portal.url)
        page.get_by_role("button", name="New project").click()
        dialog = page.get_by_role("dialog", name="Create new project")
        # A detector's domains only once "Object detection" is chosen, and no classification type for it.
        classification_domains = dialog.get_by_label("Domain").locator("option").all_inner_texts()
        dialog.get_by_label("Object detection").check()
        expect(dialog.get_by_text("Classification types")).to_be_hidden()
        dialog.get_by_role("button", name="Create project").click()  # no name: the browser asks for one
        expect(dialog).to_be_visible()
        dialog.get_by_role("button", name="Cancel").click()

        create_project(page, "Trees", "hemlock or cherry", multilabel=True)
        expect(page.get_by_text("Classification (Multilabel) · General")).to_be_visible()
        page.get_by_role("link", name="Projects").click()
        create_project(page, "Tools", "forks and scissors", detection=True)
        expect(page.get_by_text("Object detection · General")).to_be_visible()
        page.get_by_role("link", name="Projects").click()
        expect(page.get_by_role("link", name="Trees")).to_be_visible()
        screenshot_both_sizes(page, screenshots, "projects")

        page.get_by_role("button", name="Delete Tools").click()
        confirm = page.get_by_role("dialog", name="Delete Tools?")
        confirm.get_by_role("button", name="Cancel").click()
        expect(confirm).to_be_hidden()
        expect(page.get_by_role("link", name="Tools")).to_be_visible()
        page.get_by_role("button", name="Delete Tools").click()
        page.get_by_role("dialog", name="Delete Tools?").get_by_role("button", name="Delete").click()
        expect(page.get_by_role("link", name="Tools")).to_be_hidden()
        return classification_domains

    drive = browser_page.drive(flow)
    assert drive.result == ["General", "General (compact)", "General (compact) [S1]"]
    assert drive.problems() == []
    projects = {p.name: p for p in portal.trainer().get_projects()}
    assert set(projects) == {"Trees"}
    assert projects["Trees"].description == "hemlock or cherry"
    assert projects["Trees"].settings.classification_type == "Multilabel"
