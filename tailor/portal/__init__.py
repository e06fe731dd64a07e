"""The portal: a browser client of Tailor's public Custom Vision and Image Analysis APIs, shipped as static files
(one HTML page, ES modules, one stylesheet) with no build step and nothing fetched from a CDN. The service only
serves the files (tailor.api.routes.portal); every page reads and writes through the same REST calls as the SDK.

May import: nothing else of Tailor (static files)."""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX_HTML = STATIC_DIR / "index.html"
ASSETS_PATH = "/portal"  # where the scripts, the stylesheet and the icon are served; the page itself is at /
