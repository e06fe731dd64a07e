"""The portal's files: the page at `/`, its assets under /portal. Nothing else: the page talks to the public API."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from ...portal import ASSETS_PATH, INDEX_HTML, STATIC_DIR

# The page runs only its own scripts and shows only its own images (thumbnails are fetched with the key and shown as
# blob: URLs): an injected script or a tag name that smuggles markup has nowhere to load from.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
)
_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


@router.get("/")
def portal_page() -> FileResponse:
    return FileResponse(INDEX_HTML, media_type="text/html", headers=_HEADERS)


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(ASSETS_PATH, StaticFiles(directory=STATIC_DIR), name="portal")
