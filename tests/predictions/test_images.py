"""Decoding with real Pillow encoders: every format API.md lists, the oddities of real photos, and every limit."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tailor.predictions import ImageLimits, ImageProblem, ImageRejected, decode
from tests.images import disc, encoded, png_header_only

RED = (200, 30, 40)


def centre(image: Image.Image) -> tuple[int, ...]:
    return image.getpixel((image.width // 2, image.height // 2))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP"])
def test_each_format_decodes_to_rgb_with_the_input_size(fmt: str) -> None:
    decoded = decode(encoded(disc(RED), fmt))
    assert (decoded.width, decoded.height) == (640, 480)
    assert decoded.image.mode == "RGB" and min(decoded.image.size) == 320  # reduced as training reduces
    assert np.allclose(centre(decoded.image), RED, atol=40)


def test_exif_orientation_is_applied_and_the_displayed_size_reported() -> None:
    image = disc(RED, (200, 100))
    image.paste((0, 0, 255), (0, 0, 20, 100))  # a blue band on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 clockwise to display
    decoded = decode(encoded(image, "JPEG", exif=exif.tobytes()))
    assert (decoded.width, decoded.height) == (100, 200)
    top = decoded.image.getpixel((decoded.image.width // 2, 3))
    assert top[2] > 200 and top[0] < 60  # the band is now at the top


def test_an_animated_gif_gives_its_first_frame() -> None:
    frames = [disc(RED, (120, 90)), disc((40, 60, 210), (120, 90))]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    with Image.open(io.BytesIO(data)) as check:
        assert check.n_frames == 2
    assert np.allclose(centre(decode(data).image), RED, atol=40)


def test_cmyk_is_converted() -> None:
    data = encoded(disc(RED).convert("CMYK"), "JPEG")
    assert np.allclose(centre(decode(data).image), RED, atol=40)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_sixteen_bit_grey_is_scaled_not_clipped(fmt: str) -> None:
    samples = np.full((80, 100), 32768, dtype=np.uint16)
    samples[:, :50] = 8192
    data = encoded(Image.fromarray(samples), fmt)
    with Image.open(io.BytesIO(data)) as check:
        assert check.mode.startswith("I")
    image = decode(data).image
    assert abs(image.getpixel((75, 40))[0] - 128) <= 1 and abs(image.getpixel((20, 40))[0] - 32) <= 1


@pytest.mark.parametrize(
    ("size", "problem", "words"),
    [
        ((49, 200), ImageProblem.DIMENSION, "at least 50 px"),
        ((16_001, 50), ImageProblem.DIMENSION, "at most 16,000 px"),
        ((8_000, 7_000), ImageProblem.DIMENSION, "megapixels"),
    ],
)
def test_sides_and_pixel_count_are_refused_from_the_header(size, problem, words) -> None:
    data = encoded(Image.new("L", size), "PNG")  # a tiny file: a bomb must be refused before it is decoded
    assert len(data) < 200_000
    with pytest.raises(ImageRejected) as info:
        decode(data)
    assert info.value.problem is problem and words in str(info.value)


@pytest.mark.parametrize("size", [(20_000, 14_000), (30_000, 30_000), (100_000, 100_000)])
def test_a_bomb_past_pillows_own_guard_is_an_invalid_dimension(size) -> None:
    # Pillow refuses these in Image.open, before the header can be checked: still a dimension, not a format.
    with pytest.raises(ImageRejected) as info:
        decode(png_header_only(*size))
    assert info.value.problem is ImageProblem.DIMENSION
    assert f"{size[0] * size[1] / 1e6:,.1f} megapixels" in str(info.value) and "16,000 px" in str(info.value)


def test_the_byte_limit_and_an_empty_body() -> None:
    with pytest.raises(ImageRejected) as info:
        decode(b"x" * 101, ImageLimits(max_bytes=100))
    assert info.value.problem is ImageProblem.SIZE and "MB limit" in str(info.value)
    with pytest.raises(ImageRejected) as info:
        decode(b"")
    assert info.value.problem is ImageProblem.SIZE and "empty" in str(info.value)


@pytest.mark.parametrize(
    "data",
    [b"hello, not an image", encoded(disc(RED), "JPEG")[:3000], encoded(disc(RED), "PPM")],
    ids=["text", "truncated-jpeg", "ppm"],
)
def test_what_is_not_a_usable_image_is_an_invalid_format(data: bytes) -> None:
    with pytest.raises(ImageRejected) as info:
        decode(data)
    assert info.value.problem is ImageProblem.FORMAT and "JPEG, PNG" in str(info.value)
