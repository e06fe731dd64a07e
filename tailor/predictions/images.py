"""An image to analyze, from the bytes a caller sent to an RGB picture the model can take, with every limit of
API.md checked on the way and each refusal naming what is wrong and what to do.

The picture is made by training's own `prepare_image` (tailor.automl.images), so that a model sees at serving time
exactly what it saw when it learned and was validated.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from enum import Enum

from PIL import Image, UnidentifiedImageError

from ..automl.images import KEEP_SIDE, displayed_size, prepare_image
from ..errors import InvalidInput

MAX_IMAGE_BYTES = 6 * 1024 * 1024  # API.md: the synchronous analyze call takes images up to 6 MB
MIN_SIDE = 50
MAX_SIDE = 16_000
# What Pillow may call the formats API.md lists (JPEG, PNG, GIF, BMP, WEBP, ICO, TIFF, MPO).
FORMATS = frozenset({"JPEG", "PNG", "GIF", "BMP", "WEBP", "ICO", "TIFF", "MPO"})
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")  # Pillow: "Image size (900000000 pixels) exceeds limit of ..."


class ImageProblem(str, Enum):
    """Why an image was refused; the API shows it as `innererror.code`."""

    FORMAT = "InvalidImageFormat"  # not an image, or not a format the service takes
    SIZE = "InvalidImageSize"  # too many bytes, or none
    DIMENSION = "InvalidImageDimension"  # a side out of range, or too many pixels
    URL = "InvalidImageUrl"  # the `url` cannot be read


class ImageRejected(InvalidInput):
    def __init__(self, problem: ImageProblem, message: str, target: str = "image"):
        super().__init__(message, target=target)
        self.problem = problem


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = MAX_IMAGE_BYTES
    min_side: int = MIN_SIDE
    max_side: int = MAX_SIDE
    max_pixels: int = 50_000_000


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB, oriented, shorter side at most the keep_side asked (KEEP_SIDE)
    width: int  # of the input as displayed (after EXIF orientation)
    height: int


def check_size(size: int, limits: ImageLimits) -> None:
    """The byte-size rule alone, also for a body whose length is declared before it is read."""
    if size == 0:
        raise ImageRejected(ImageProblem.SIZE, "the image is empty: send the image's bytes as the request body")
    if size > limits.max_bytes:
        raise too_large(limits, size)


def too_large(limits: ImageLimits, size: int | None = None) -> ImageRejected:
    shown = f"{size:,} bytes" if size is not None else "larger"
    return ImageRejected(
        ImageProblem.SIZE,
        f"the image is {shown}, over the {limits.max_bytes / (1024 * 1024):g} MB limit of analyze: send a smaller or "
        "more compressed image",
    )


def decode(data: bytes, limits: ImageLimits = ImageLimits(), keep_side: int = KEEP_SIDE) -> DecodedImage:
    check_size(len(data), limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                _check_header(opened, limits)
                return _prepared(opened, keep_side)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard, which Image.open applies to the header before `_check_header` sees it
        raise _too_many_pixels(exc, limits) from None
    except UnidentifiedImageError as exc:
        raise _not_an_image(exc) from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, MemoryError) as exc:
        # Pillow's decoders fail in many ways on truncated or crafted files
        raise _not_an_image(exc) from None


def _check_header(image: Image.Image, limits: ImageLimits) -> None:
    """Everything that can be refused from the header, before a pixel is decoded."""
    if image.format not in FORMATS:
        raise ImageRejected(
            ImageProblem.FORMAT,
            f"{image.format or 'this'} images are not supported: send JPEG, PNG, GIF, BMP, WEBP, ICO, TIFF or MPO",
        )
    width, height = image.size
    if width < limits.min_side or height < limits.min_side:
        raise ImageRejected(
            ImageProblem.DIMENSION,
            f"the image is {width}x{height} px; each side must be at least {limits.min_side} px",
        )
    if width > limits.max_side or height > limits.max_side:
        raise ImageRejected(
            ImageProblem.DIMENSION,
            f"the image is {width}x{height} px; each side must be at most {limits.max_side:,} px",
        )
    if width * height > limits.max_pixels:
        raise ImageRejected(
            ImageProblem.DIMENSION,
            f"the image is {width}x{height} px, {width * height / 1e6:.1f} megapixels, over this service's limit of "
            f"{limits.max_pixels / 1e6:g} megapixels: send a smaller image",
        )


def _too_many_pixels(exc: Exception, limits: ImageLimits) -> ImageRejected:
    declared = _BOMB_PIXELS.search(str(exc))
    shown = f"{int(declared.group(1)) / 1e6:,.1f} megapixels" if declared else "too many pixels"
    return ImageRejected(
        ImageProblem.DIMENSION,
        f"the image's header declares {shown}, over this service's limit of {limits.max_pixels / 1e6:g} megapixels "
        f"(each side at most {limits.max_side:,} px); it was refused without being decoded: send a smaller image",
    )


def _prepared(opened: Image.Image, keep_side: int) -> DecodedImage:
    width, height = displayed_size(opened)
    return DecodedImage(prepare_image(opened, keep_side), width, height)


def _not_an_image(exc: BaseException) -> ImageRejected:
    unknown = isinstance(exc, UnidentifiedImageError)
    reason = "not an image in a known format" if unknown else str(exc) or type(exc).__name__
    return ImageRejected(
        ImageProblem.FORMAT,
        f"the body cannot be decoded as an image ({reason}): send JPEG, PNG, GIF, BMP, WEBP, ICO, TIFF or MPO bytes, "
        "or JSON {\"url\": ...}",
    )
