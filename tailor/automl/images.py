"""Images of a dataset, fetched and decoded once (concurrently), kept small enough to train from memory."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from PIL import Image, ImageOps

from ..coco import MAX_IMAGE_BYTES
from ..enums import FailureCode
from .failures import TrainingFailed

Fetch = Callable[[str, int], bytes]
KEEP_SIDE = 320  # enough for the largest input size searched (after the resize-and-crop of preprocessing)
DETECTION_KEEP_SIDE = 640  # detectors: small objects need the pixels; enough for the largest input size searched
THUMBNAIL_SIDE = 160  # the images shown in reports


def load_images(
    urls: Sequence[str], fetch: Fetch, *, concurrency: int = 8, keep_side: int = KEEP_SIDE
) -> list[Image.Image]:
    """The images at `urls`, RGB, EXIF orientation applied, shorter side at most `keep_side`. Unreadable images fail
    the training with `datasetCorrupt`, naming them."""

    def one(index: int) -> Image.Image | str:
        url = urls[index]
        try:
            with Image.open(io.BytesIO(fetch(url, MAX_IMAGE_BYTES))) as image:
                image = ImageOps.exif_transpose(image).convert("RGB")
                image.thumbnail((10 * keep_side, keep_side) if image.width > image.height else (keep_side, 10 * keep_side))
                return image.copy()
        except Exception as exc:  # a fetch error or any of Pillow's many decode errors
            return f"{url} ({type(exc).__name__}: {exc})"

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="tailor-load") as pool:
        loaded = list(pool.map(one, range(len(urls))))
    broken = [item for item in loaded if isinstance(item, str)]
    if broken:
        shown = "; ".join(broken[:10]) + (f"; and {len(broken) - 10} more" if len(broken) > 10 else "")
        raise TrainingFailed(FailureCode.DATASET_CORRUPT, f"{len(broken)} image(s) cannot be read: {shown}")
    return loaded  # type: ignore[return-value]


def thumbnail(image: Image.Image) -> Image.Image:
    """A copy at most THUMBNAIL_SIDE on its longer side, for a report."""
    small = image.copy()
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    return small
