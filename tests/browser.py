"""A pytest plugin: pages opened in a real headless Chromium, as a person would see them (`browser_page` fixture).

`browser_page.open(url, headers=...)` loads a file:// or http:// page (extra HTTP headers, such as
Ocp-Apim-Subscription-Key, go with every request of the page) and returns a `PageCheck`: the page's HTTP status,
console errors, uncaught script errors, failed requests, images that did not load, and the visible text.

`browser_page.drive(flow, viewport=...)` runs `flow(page)` (a Playwright `Page`, in a fresh context) for pages a
test clicks through, and returns a `Drive`: what `flow` returned, and everything the page got wrong on the way
(console errors, script errors, failed requests, responses with an error status; requests the browser abandoned
when the test navigated are kept apart).

The browser is Debian's `chromium` at /usr/bin/chromium, driven by Playwright for Python (the dev extra), never a
browser download: CI reaches Debian's mirror but not Playwright's downloads. When it is missing it is installed
with apt-get, as root; otherwise the fixture fails and says how to install it. Nothing is skipped.

Playwright's sync API keeps an event loop of its own in the thread that starts it, and `asyncio.run` then refuses
to run in that thread; so the browser lives in a thread of its own, and every call is handed to that thread.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
_INSTALL_HINT = "as root: `apt-get update && apt-get install -y chromium` (Debian's package; no download of its own)"
_INSTALL_TIMEOUT_S = 900
_LOAD_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class PageCheck:
    url: str
    status: int | None  # the HTTP status of the page itself; None for a file:// page
    console_errors: list[str]
    page_errors: list[str]  # uncaught exceptions of the page's scripts
    failed_requests: list[str]  # "URL: reason" of every request that got no response
    broken_images: list[str]  # the src (cut short) of each <img> that did not load
    image_count: int
    text: str  # the page's visible text, as innerText gives it

    @property
    def problems(self) -> list[str]:
        """Everything a person would see as broken; empty for a clean page."""
        return (
            [f"console: {message}" for message in self.console_errors]
            + [f"page error: {message}" for message in self.page_errors]
            + [f"request failed: {request}" for request in self.failed_requests]
            + [f"image not loaded: {source}" for source in self.broken_images]
        )


@dataclass(frozen=True)
class Drive:
    result: Any  # what the flow returned
    console_errors: list[str]
    page_errors: list[str]
    failed_requests: list[str]  # "URL: reason" of every request that got no response, but those aborted
    error_responses: list[str]  # "STATUS METHOD URL" of every response with a status of 400 or more
    # Requests the browser itself abandoned (net::ERR_ABORTED): a reload or a navigation of the test's while a fetch
    # or the browser's own favicon request was in flight. Nobody sees those: they are kept apart, not problems.
    aborted_requests: list[str]

    def problems(self, expected_statuses: tuple[int, ...] = ()) -> list[str]:
        """Everything that went wrong but the responses a test provoked on purpose (`expected_statuses`), and the
        line Chromium's console writes for each of them ("Failed to load resource: ... status of 401 ...")."""
        expected = tuple(f"status of {status} " for status in expected_statuses)
        return (
            [f"console: {m}" for m in self.console_errors
             if not (m.startswith("Failed to load resource") and any(e in m for e in expected))]
            + [f"page error: {m}" for m in self.page_errors]
            + [f"request failed: {r}" for r in self.failed_requests]
            + [f"response: {r}" for r in self.error_responses if int(r.split()[0]) not in expected_statuses]
        )


class BrowserPage:
    """Opens pages in the session's Chromium; each `open` gets a fresh browser context (no cookies carried over)."""

    def __init__(self, browser: _BrowserThread) -> None:
        self._browser = browser

    def open(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        screenshot: Path | None = None,
        timeout_s: float = _LOAD_TIMEOUT_S,
    ) -> PageCheck:
        """Load `url` until its `load` event (every image decoded or failed) and report what happened.
        `screenshot`: a PNG of the whole page is written there (the file tool shows it)."""
        return self._browser.call(_open, url, dict(headers or {}), screenshot, timeout_s)

    def drive(self, flow: Callable[[Any], Any], *, viewport: tuple[int, int] = (1280, 800),
              timeout_s: float = _LOAD_TIMEOUT_S) -> Drive:
        """Run `flow(page)` in the browser's thread (Playwright's sync API lives there), on a fresh context of the
        given viewport; `timeout_s` is each action's and each assertion's default wait. An assertion that fails in
        `flow` fails the test as it would outside."""
        return self._browser.call(_drive, flow, viewport, timeout_s)


class _BrowserThread:
    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self._playwright: Any = None
        self.browser: Any = None

    def call(self, function: Any, *args: Any) -> Any:
        return self._thread.submit(function, self.browser, *args).result()

    def start(self) -> None:
        self._thread.submit(self._start).result()

    def stop(self) -> None:
        try:
            self._thread.submit(self._stop).result()
        finally:
            self._thread.shutdown()

    def _start(self) -> None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            pytest.fail("the browser tests need Playwright for Python: pip install -e '.[dev]'", pytrace=False)
        self._playwright = sync_playwright().start()
        try:
            # Playwright adds --no-sandbox by default, which Chromium needs when it runs as root.
            self.browser = self._playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        except Exception:
            self._playwright.stop()
            raise

    def _stop(self) -> None:
        if self.browser is not None:
            self.browser.close()
        if self._playwright is not None:
            self._playwright.stop()


def _open(browser: Any, url: str, headers: dict[str, str], screenshot: Path | None, timeout_s: float) -> PageCheck:
    context = browser.new_context(extra_http_headers=headers)
    try:
        page = context.new_page()
        console_errors: list[str] = []
        page_errors: list[str] = []
        failed_requests: list[str] = []
        page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        page.on("requestfailed", lambda request: failed_requests.append(f"{request.url[:200]}: {request.failure}"))
        response = page.goto(url, wait_until="load", timeout=timeout_s * 1000)
        images = page.eval_on_selector_all(
            "img", "images => images.map(image => [image.complete && image.naturalWidth > 0, image.src.slice(0, 120)])"
        )
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
        return PageCheck(
            url=url,
            status=response.status if response is not None and url.startswith("http") else None,
            console_errors=console_errors,
            page_errors=page_errors,
            failed_requests=failed_requests,
            broken_images=[source for loaded, source in images if not loaded],
            image_count=len(images),
            text=page.inner_text("body"),
        )
    finally:
        context.close()


def _drive(browser: Any, flow: Callable[[Any], Any], viewport: tuple[int, int], timeout_s: float) -> Drive:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    context.set_default_timeout(timeout_s * 1000)
    expect.set_options(timeout=timeout_s * 1000)
    try:
        page = context.new_page()
        console_errors: list[str] = []
        page_errors: list[str] = []
        failed_requests: list[str] = []
        error_responses: list[str] = []
        page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        aborted_requests: list[str] = []

        def failed(request) -> None:
            abandoned = request.failure == "net::ERR_ABORTED"
            (aborted_requests if abandoned else failed_requests).append(f"{request.url[:200]}: {request.failure}")

        page.on("requestfailed", failed)
        page.on("response", lambda response: error_responses.append(
            f"{response.status} {response.request.method} {response.url[:200]}") if response.status >= 400 else None)
        result = flow(page)
        return Drive(result, console_errors, page_errors, failed_requests, error_responses, aborted_requests)
    finally:
        expect.set_options(timeout=5000)
        context.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[_BrowserThread]:
    """The session's headless Chromium, started once."""
    _install()
    browser = _BrowserThread()
    try:
        browser.start()
        yield browser
    finally:
        browser.stop()


@pytest.fixture
def browser_page(chromium: _BrowserThread) -> BrowserPage:
    return BrowserPage(chromium)


def _install() -> None:
    """apt-get install chromium unless it is there; a lock keeps pytest-xdist workers from installing at once."""
    if CHROMIUM.exists():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail(f"the browser tests need Chromium at {CHROMIUM}; install it {_INSTALL_HINT}", pytrace=False)
    with open(Path(tempfile.gettempdir()) / "tailor-chromium-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if CHROMIUM.exists():  # another worker installed it while this one waited
            return
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
            result = subprocess.run(
                command, capture_output=True, text=True, env=environment, timeout=_INSTALL_TIMEOUT_S
            )
            if result.returncode != 0:
                pytest.fail(
                    f"`{' '.join(command)}` failed ({result.returncode}); install Chromium {_INSTALL_HINT}:\n"
                    f"{result.stderr[-4000:]}",
                    pytrace=False,
                )
        if not CHROMIUM.exists():
            pytest.fail(f"apt-get installed chromium but {CHROMIUM} is missing", pytrace=False)


__all__ = ["BrowserPage", "Drive", "PageCheck", "browser_page", "chromium"]
