"""Images of a dataset, fetched and decoded once (concurrently), kept small enough to train from memory."""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from PIL import Image, ImageOps

from ..coco import MAX_IMAGE_BYTES, CocoDataset
from ..models import FailureCode
from .failures import TrainingFailed

Fetch = Callable[[str, int], bytes]
KEEP_SIDE = 320  # enough for the largest input size searched (after the resize-and-crop of preprocessing)


def load_images(dataset: CocoDataset, fetch: Fetch, *, concurrency: int = 8) -> list[Image.Image]:
    """Every image, RGB, EXIF orientation applied, shorter side at most KEEP_SIDE. Unreadable images fail the
    training with `datasetCorrupt`, naming them."""

    def one(index: int) -> Image.Image | str:
        url = dataset.image_urls[index]
        try:
            with Image.open(io.BytesIO(fetch(url, MAX_IMAGE_BYTES))) as image:
                image = ImageOps.exif_transpose(image).convert("RGB")
                image.thumbnail((10 * KEEP_SIDE, KEEP_SIDE) if image.width > image.height else (KEEP_SIDE, 10 * KEEP_SIDE))
                return image.copy()
        except Exception as exc:  # a fetch error or any of Pillow's many decode errors
            return f"{url} ({type(exc).__name__}: {exc})"

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="tailor-load") as pool:
        loaded = list(pool.map(one, range(dataset.num_images)))
    broken = [item for item in loaded if isinstance(item, str)]
    if broken:
        shown = "; ".join(broken[:10]) + (f"; and {len(broken) - 10} more" if len(broken) > 10 else "")
        raise TrainingFailed(FailureCode.DATASET_CORRUPT, f"{len(broken)} image(s) cannot be read: {shown}")
    return loaded  # type: ignore[return-value]
