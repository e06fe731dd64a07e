"""The one way an image becomes the RGB picture a model sees, for training, evaluation and analyze alike
(`prepare_image`), and the images of a dataset fetched and decoded once (concurrently), kept small enough to train
from memory (`load_images`).

What a camera or an editor can hand us, and how it is seen: an animation by its first frame; the EXIF orientation
applied; 16-bit and float greyscale scaled to 8 bits (Pillow's own conversion clips everything above 255 to
white); CMYK, palette, greyscale and the rest converted to RGB by Pillow; transparent pixels shown over white, as a
viewer shows them (their stored colour is often black, or whatever an editor left there); the shorter side reduced
to `keep_side`. A model served an image so prepared sees exactly what it was validated on.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import ExifTags, Image, ImageOps

from ..coco import MAX_IMAGE_BYTES
from ..enums import FailureCode
from .failures import TrainingFailed

Fetch = Callable[[str, int], bytes]
KEEP_SIDE = 320  # enough for every bundled backbone's input (after the resize-and-crop of preprocessing)
DETECTION_KEEP_SIDE = 640  # detectors: small objects need the pixels; enough for the largest input size searched
THUMBNAIL_SIDE = 160  # the images shown in reports
_DEEP_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_BACKDROP = (255, 255, 255)  # what a transparent pixel is shown over


def prepare_image(opened: Image.Image, keep_side: int = KEEP_SIDE) -> Image.Image:
    """An opened image as the RGB picture a model takes (the module's docstring says how each kind is seen)."""
    opened.seek(0)  # an animation: its first frame
    image = _eight_bit(opened) if opened.mode in _DEEP_MODES else opened
    image = _over_backdrop(ImageOps.exif_transpose(image))
    width, height = image.size
    image.thumbnail((10 * keep_side, keep_side) if width > height else (keep_side, 10 * keep_side))
    return image


def keep_side_for(resize_sizes: Iterable[int]) -> int:
    """The shorter side a classifier's images are kept at: KEEP_SIDE, or more where a backbone resizes to more before
    its crop (an operator's DINOv2 takes 518 px), so that no backbone sees an image enlarged from a smaller copy.
    Training keeps its images at this side and records it in the model (`ArtifactConfig.keep_side`); evaluation and
    analyze prepare theirs at the recorded side, so that what is served is what was validated."""
    return max([KEEP_SIDE, *resize_sizes])


def displayed_size(image: Image.Image) -> tuple[int, int]:
    """(width, height) as the image is shown: after its EXIF orientation (5 to 8 turn it a quarter)."""
    turned = image.getexif().get(ExifTags.Base.Orientation) in (5, 6, 7, 8)
    return (image.height, image.width) if turned else image.size


def _over_backdrop(image: Image.Image) -> Image.Image:
    """RGB; where the image has transparency (an alpha channel, or a palette's transparent entry), over white."""
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        backdrop = Image.new("RGBA", rgba.size, _BACKDROP + (255,))
        return Image.alpha_composite(backdrop, rgba).convert("RGB")
    return image.convert("RGB")


def _eight_bit(image: Image.Image) -> Image.Image:
    """16-bit or float greyscale as 8-bit greyscale, scaled (Pillow's own conversion clips at 255), EXIF kept."""
    samples = np.asarray(image, dtype=np.float64)
    peak = samples.max(initial=0)
    top = 1.0 if image.mode == "F" and peak <= 1.0 else 255.0 if peak <= 255 else 65535.0
    grey = Image.fromarray(np.clip(samples * (255.0 / top), 0, 255).round().astype(np.uint8), "L")
    grey.info.update(image.info)
    exif = image.getexif()
    if exif:
        grey.info["exif"] = exif.tobytes()
    return grey


def load_images(
    urls: Sequence[str], fetch: Fetch, *, concurrency: int = 8, keep_side: int = KEEP_SIDE
) -> list[Image.Image]:
    """The images at `urls`, prepared (`prepare_image`), shorter side at most `keep_side`. Unreadable images fail
    the training with `datasetCorrupt`, naming them."""

    def one(index: int) -> Image.Image | str:
        url = urls[index]
        try:
            with Image.open(io.BytesIO(fetch(url, MAX_IMAGE_BYTES))) as opened:
                image = prepare_image(opened, keep_side)
                return image.copy() if image is opened else image
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
