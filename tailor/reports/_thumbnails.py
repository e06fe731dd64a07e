"""Thumbnails as the report's small JPEG files."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

QUALITY = 85


def write_jpeg(path: Path, image: Image.Image) -> None:
    # JPEG has no alpha or palette: flattened to RGB (a transparent background turns black, as in most viewers).
    image.convert("RGB").save(path, format="JPEG", quality=QUALITY)
