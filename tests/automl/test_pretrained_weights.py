"""The converted weights are the real ImageNet ones: each backbone, with its ImageNet classifier and its own
preprocessing, names the right class first on two pictures that ship with scikit-image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
import timm.data
import torch
from PIL import Image

from tailor.automl.backbones import BACKBONES, build_backbone, get_backbone

# ImageNet-1k classes that are right answers for each picture.
RIGHT = {
    "chelsea": {281, 282, 285},  # tabby, tiger cat, Egyptian cat
    "coffee": {967, 968, 504},  # espresso, cup, coffee mug
}


def _image(name: str) -> Image.Image:
    pixels: np.ndarray = getattr(skimage.data, name)()
    return Image.fromarray(pixels)


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_top1_is_right(name: str, weights_dir: Path) -> None:
    backbone = get_backbone(name)
    model = build_backbone(name, weights_dir=weights_dir, num_classes=1000, pretrained_head=True).eval()
    transform = timm.data.create_transform(**backbone.preprocess.data_config())
    batch = torch.stack([transform(_image(picture)) for picture in RIGHT])
    with torch.no_grad():
        top1 = model(batch).argmax(dim=1).tolist()
    assert {picture: c for picture, c in zip(RIGHT, top1, strict=True) if c not in RIGHT[picture]} == {}
