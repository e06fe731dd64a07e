"""The portal's files as `tailor serve` serves them: the page at /, with a Content-Security-Policy that lets it run only
its own scripts; its assets under /portal; and nothing of the API's answers changed by them."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tailor.api import create_app
from tailor.portal import STATIC_DIR
from tests.api.conftest import make_settings


def test_the_page_its_assets_and_the_api_are_served_side_by_side(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 't.db'}"))) as client:
        page = client.get("/")
        script = client.get("/portal/js/main.js")
        missing = client.get("/portal/js/nothing.js")
        unknown_api = client.get("/computervision/nothing", params={"api-version": "2023-04-01-preview"},
                                 headers={"Ocp-Apim-Subscription-Key": "training-key-1"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script type="module" src="/portal/js/main.js">' in page.text
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert missing.status_code == 404
    assert unknown_api.status_code == 404 and "error" in unknown_api.json()  # still the API's envelope


def test_every_file_the_page_imports_is_shipped(tmp_path: Path) -> None:
    """Each `import ... from "./x.js"` names a file in the package: a typo would be a blank page in a browser."""
    import re

    scripts = {p.name for p in (STATIC_DIR / "js").glob("*.js")}
    imported = {name for p in (STATIC_DIR / "js").glob("*.js")
                for name in re.findall(r'from "\./([\w-]+\.js)"', p.read_text())}
    assert imported and imported <= scripts
