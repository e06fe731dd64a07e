"""Image files: does each decode, in an allowed format, under 20 MB, at its declared size, within the bounds?

The bytes come from a `fetch` function the caller gives (the blob layer); this module never opens a connection.
Decompression bombs are refused from the header, before any pixel is decoded.
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from ._dataset import CocoDataset
from ._kinds import Purpose
from ._problems import Problem, ProblemCode
from ._quotas import ALLOWED_IMAGE_FORMATS, MAX_IMAGE_BYTES, Quota, quota_for

Fetch = Callable[[str, int], bytes]  # (url, limit) -> at most `limit` bytes of the blob
_ROTATED = {5, 6, 7, 8}
# Pillow's own bomb guard warns above 89 MP and refuses above 179 MP: below the 16,000 x 16,000 px that API.md
# allows for evaluation. `check_image_bytes` refuses oversized images from the header before decoding, so Pillow's
# guard is moved to just past the largest legitimate image (it still refuses anything twice that).
Image.MAX_IMAGE_PIXELS = 16_000 * 16_000
# Pillow opens MPO (multi-picture JPEG) through its JPEG plugin, so "JPEG" covers both.
_FORMATS = sorted(ALLOWED_IMAGE_FORMATS - {"MPO"})  # EXIF orientations that swap width and height when shown


@dataclass(frozen=True, slots=True)
class ImageCheck:
    """What one image file turned out to be; `problems` lists (code, field, message)."""

    format: str | None
    width: int | None
    height: int | None
    problems: tuple[tuple[ProblemCode, str | None, str], ...]


def check_image_bytes(data: bytes, declared_width: int, declared_height: int, quota: Quota) -> ImageCheck:
    if len(data) > MAX_IMAGE_BYTES:
        return _fail(
            ProblemCode.IMAGE_FILE_TOO_LARGE,
            f"the image file is over {MAX_IMAGE_BYTES // (1024 * 1024)} MB; re-encode or downscale it",
        )
    try:
        image = open_image(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        return _fail(ProblemCode.DECOMPRESSION_BOMB, f"refused without decoding: {exc}")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):  # what Pillow raises on a bad header
        fmt = _sniff_format(data)
        if fmt is not None:
            return _fail(
                ProblemCode.IMAGE_FORMAT_NOT_ALLOWED,
                f"{fmt} images are not accepted; use JPEG, PNG, GIF, BMP, WEBP, ICO, TIFF or MPO",
            )
        return _fail(ProblemCode.IMAGE_UNDECODABLE, "not a readable image in any accepted format")
    with image:
        fmt, (width, height) = image.format, image.size
        problems: list[tuple[ProblemCode, str | None, str]] = []
        max_pixels = quota.max_image_side**2
        if width * height > max_pixels:
            problems.append(
                (
                    ProblemCode.DECOMPRESSION_BOMB, None,
                    (f"the header declares {width}x{height} = {width * height:,} pixels, over the {max_pixels:,} "
                     "limit; refused without decoding"),
                )
            )
            return ImageCheck(fmt, width, height, tuple(problems))
        try:  # reading EXIF or pixels can meet truncated or corrupt data, which Pillow raises many types for
            problems.extend(_size_problems(image, width, height, declared_width, declared_height, quota))
            image.load()
        except Exception as exc:
            problems.append((ProblemCode.IMAGE_UNDECODABLE, None, f"the {fmt} data does not decode: {exc}"))
    return ImageCheck(fmt, width, height, tuple(problems))


def open_image(source: BinaryIO | Path) -> Image.Image:
    """Open (header only) an image in one of the accepted formats."""
    Image.init()  # registers every plugin, MPO included, so that `formats` can name them
    return Image.open(source, formats=_FORMATS)


def _size_problems(
    image: Image.Image, width: int, height: int, declared_width: int, declared_height: int, quota: Quota
) -> Iterator[tuple[ProblemCode, str | None, str]]:
    shown = (height, width) if image.getexif().get(0x0112) in _ROTATED else (width, height)
    if (declared_width, declared_height) not in ((width, height), shown):
        yield (
            ProblemCode.IMAGE_SIZE_MISMATCH, "width",
            f"declared {declared_width}x{declared_height}, but the image is {width}x{height}: fix `width` and `height`",
        )
    for name, side in (("width", width), ("height", height)):
        if side < quota.min_image_side:
            yield ProblemCode.IMAGE_TOO_SMALL, name, f"the image's {name} is {side} px, below the {quota.min_image_side} px minimum"
        elif side > quota.max_image_side:
            yield ProblemCode.IMAGE_TOO_LARGE, name, f"the image's {name} is {side} px, above the {quota.max_image_side:,} px maximum"


def _fail(code: ProblemCode, message: str) -> ImageCheck:
    return ImageCheck(None, None, None, ((code, None, message),))


def _sniff_format(data: bytes) -> str | None:
    try:
        with Image.open(io.BytesIO(data)) as other:
            return other.format
    except Exception:
        return None


def check_images(
    dataset: CocoDataset,
    fetch: Fetch,
    purpose: Purpose,
    *,
    concurrency: int = 8,
    on_progress: Callable[[int], None] | None = None,
) -> list[Problem]:
    """Fetch and check every image of `dataset`, at most `concurrency` at once, in the dataset's order."""
    quota = quota_for(dataset.kind, purpose)

    def one(index: int) -> list[Problem]:
        file, path = dataset.image_path(index)
        url = dataset.image_urls[index]
        try:
            data = fetch(url, MAX_IMAGE_BYTES + 1)
        except Exception as exc:  # the fetcher's errors name the URL and the cause
            return [Problem(ProblemCode.IMAGE_UNREADABLE, path, f"cannot read {url}: {exc}", file)]
        result = check_image_bytes(data, int(dataset.image_widths[index]), int(dataset.image_heights[index]), quota)
        return [
            Problem(code, f"{path}.{field}" if field else path, message, file)
            for code, field, message in result.problems
        ]

    problems: list[Problem] = []
    window = max(1, concurrency) * 4  # bounded queue of pending futures, whatever the dataset size
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="tailor-image") as pool:
        pending: deque[Future[list[Problem]]] = deque()
        for index in range(dataset.num_images):
            pending.append(pool.submit(one, index))
            if len(pending) >= window:
                problems.extend(_drain(pending.popleft(), on_progress))
        for future in pending:
            problems.extend(_drain(future, on_progress))
    return problems


def _drain(future: Future[list[Problem]], on_progress: Callable[[int], None] | None) -> list[Problem]:
    found = future.result()
    if on_progress is not None:
        on_progress(1)
    return found
