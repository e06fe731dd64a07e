"""The network inputs built without torch (tailor.automl.inputs) are what torch computes: an exported model's user
who builds them with numpy feeds the graph what the served model is fed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models.detection.transform import GeneralizedRCNNTransform

from tailor.automl.inputs import classifier_input, detector_input, detector_size, resize_bilinear

SIZES = [(480, 640), (640, 427), (333, 517), (50, 900), (640, 640), (200, 150), (640, 1600), (37, 41)]


@pytest.mark.parametrize(("height", "width"), SIZES)
def test_the_detector_size_and_resize_are_torchvisions(height: int, width: int) -> None:
    array = np.random.default_rng(height * width).integers(0, 256, (height, width, 3), dtype=np.uint8)
    transform = GeneralizedRCNNTransform(384, 640, [0.0] * 3, [1.0] * 3)
    resized, _ = transform.resize(torch.from_numpy(array).permute(2, 0, 1).float() / 255, None)
    new_width, new_height = detector_size(width, height, 384, 640)
    assert (new_height, new_width) == tuple(resized.shape[-2:])
    ours = resize_bilinear(array, new_width, new_height).astype(np.float32)
    # torch keeps floats; ours are rounded to the uint8 the exported graph takes: half a level at most
    assert np.abs(ours - (resized * 255).permute(1, 2, 0).numpy()).max() <= 0.5 + 1e-3
    assert detector_input(Image.fromarray(array), 384, 640).shape == (new_height, new_width, 3)


def test_a_detector_input_keeps_the_shorter_side_unless_the_longer_passes_the_limit() -> None:
    assert detector_size(640, 480, 384, 640) == (512, 384)
    assert detector_size(1600, 400, 384, 640) == (640, 160)  # a panorama: the longer side is bounded
    assert detector_size(384, 512, 384, 640) == (384, 512)  # already at size: unchanged


def test_a_classifier_input_is_the_centre_square_at_the_members_size() -> None:
    picture = Image.new("RGB", (300, 200), (10, 20, 30))
    picture.paste((200, 0, 0), (0, 0, 50, 200))  # a red band at the left edge: cropped away
    square = classifier_input(picture, 256, 224, "bilinear")
    assert square.shape == (224, 224, 3) and square.dtype == np.uint8
    assert (square[:, 0] == (10, 20, 30)).all()
