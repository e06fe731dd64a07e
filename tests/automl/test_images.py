"""One image path: what training, evaluation and analyze make of the same bytes is the same picture, and so the same
tensor, whatever odd kind of image a user sends (real Pillow encoders, no stand-ins)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from tailor.automl.backbones import get_backbone
from tailor.automl.features import to_tensor
from tailor.automl.images import KEEP_SIDE, keep_side_for, load_images
from tailor.predictions import decode
from tests.images import disc, encoded

RED = (200, 30, 40)


def sixteen_bit_grey() -> bytes:
    """A 16-bit greyscale PNG whose samples are far above 255 (what clipping would turn all white)."""
    samples = np.tile(np.linspace(2_000, 60_000, 160, dtype=np.uint16), (120, 1))
    return encoded(Image.fromarray(samples), "PNG")


def transparent_rgba() -> bytes:
    """A red disc on a fully transparent background whose stored colour is black."""
    image = disc(RED, (160, 120)).convert("RGBA")
    pixels = np.asarray(image).copy()
    outside = (pixels[..., :3] == pixels[0, 0, :3]).all(axis=2)
    pixels[outside] = (0, 0, 0, 0)
    return encoded(Image.fromarray(pixels, "RGBA"), "PNG")


def palette_with_transparency() -> bytes:
    image = disc(RED, (160, 120)).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    background = image.getpixel((0, 0))
    return encoded(image, "PNG", transparency=background)


KINDS = {
    "16-bit grey PNG": sixteen_bit_grey,
    "CMYK JPEG": lambda: encoded(disc(RED, (160, 120)).convert("CMYK"), "JPEG"),
    "RGBA PNG, transparent": transparent_rgba,
    "palette PNG, transparent": palette_with_transparency,
    "animated GIF": lambda: encoded(disc(RED, (160, 120)), "GIF", save_all=True,
                                    append_images=[disc((40, 60, 210), (160, 120))], duration=100, loop=0),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_training_and_analyze_give_the_same_tensor(kind: str) -> None:
    data = KINDS[kind]()
    trained = load_images(["image"], lambda url, max_bytes: data)[0]
    served = decode(data).image
    preprocess = get_backbone("efficientnet_lite0").preprocess
    assert trained.mode == served.mode == "RGB"
    assert torch.equal(to_tensor([trained], preprocess), to_tensor([served], preprocess))


def test_sixteen_bit_samples_are_scaled_not_clipped_to_white() -> None:
    grey = np.asarray(load_images(["image"], lambda url, max_bytes: sixteen_bit_grey())[0])[..., 0]
    assert grey[:, 0].mean() < 20 and grey[:, -1].mean() > 220  # the ramp survives: 2,000 -> 8, 60,000 -> 233
    assert 100 < grey.mean() < 160


@pytest.mark.parametrize("kind", ["RGBA PNG, transparent", "palette PNG, transparent"])
def test_transparent_pixels_are_shown_over_white(kind: str) -> None:
    image = load_images(["image"], lambda url, max_bytes: KINDS[kind]())[0]
    corner, centre = image.getpixel((0, 0)), image.getpixel((image.width // 2, image.height // 2))
    assert corner == (255, 255, 255)
    assert np.allclose(centre, RED, atol=40)


def test_images_are_kept_large_enough_for_the_largest_backbone() -> None:
    """An operator's backbone that resizes to more than KEEP_SIDE (a DINOv2 at 518) gets the pixels it takes, not a
    copy enlarged from 320; a model from before the side was recorded was kept at KEEP_SIDE."""
    from tailor.automl.artifact import ArtifactConfig

    assert keep_side_for([224, 256, 297]) == KEEP_SIDE == 320
    assert keep_side_for([224, 518]) == 518
    image = load_images(["big"], lambda url, limit: encoded(disc((200, 30, 30), (1200, 900))), keep_side=518)[0]
    assert min(image.size) == 518
    old = {"format": 2, "task": "classification", "class_names": ["a"], "multilabel": False, "thresholds": None,
           "members": [], "search": {}}
    assert ArtifactConfig.from_json(old).keep_side == KEEP_SIDE
    assert ArtifactConfig.from_json({**old, "keep_side": 518}).to_json()["keep_side"] == 518
