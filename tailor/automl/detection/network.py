"""The detector: torchvision's FCOS (anchor-free, one stage; its losses, box coding, resizing and non-maximum
suppression) over a timm backbone with its offline ImageNet weights, through a feature pyramid (P3-P7).

Batch norms of the backbone are frozen (timm's FrozenBatchNorm2d): detection batches are a few images, too few for
batch statistics, and the pretrained statistics are better than any a few images give. So are the backbone's stages
below stride 16 (see _freeze_early_stages)."""

from __future__ import annotations

import logging
from collections import OrderedDict
from functools import cache
from pathlib import Path
from typing import cast

import timm
import torch
from timm.layers import freeze_batch_norm_2d
from timm.models import FeatureInfo
from torch import nn
from torchvision.models.detection import FCOS
from torchvision.models.detection.fcos import FCOSHead
from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork, LastLevelP6P7

from ..backbones import Backbone, build_backbone

FPN_CHANNELS = 128  # narrower than torchvision's 256: a quarter of the head's cost, enough for few classes
HEAD_CONVS = 2  # torchvision's default is 4: the head's convolutions over P3 dominate the cost on a CPU
PYRAMID_STRIDES = (8, 16, 32)  # P3-P5 read from the backbone; P6-P7 made from P5
MAX_DETECTIONS = 100
REGRESSION_PRIOR = 4.0  # strides from a location to each side of its object, before any training


@cache
def pyramid_indices(timm_name: str) -> tuple[int, ...] | None:
    """The backbone's feature maps at strides 8, 16 and 32 (the last of each, for a network with several), or None
    for one that has not all three (a plain vision transformer): it cannot carry this detector. For the bundled
    backbones (2, 3, 4)."""
    try:
        with torch.device("meta"):
            body = timm.create_model(timm_name, pretrained=False, features_only=True)
    except (RuntimeError, ValueError, TypeError, AttributeError):  # an architecture without features_only
        return None
    # A features_only network's feature_info is a timm FeatureInfo, which nn.Module's attribute types cannot know.
    reductions = cast(FeatureInfo, body.feature_info).reduction()
    last = {stride: i for i, stride in enumerate(reductions) if stride in PYRAMID_STRIDES}
    return tuple(last[stride] for stride in PYRAMID_STRIDES) if len(last) == len(PYRAMID_STRIDES) else None


class PyramidBackbone(nn.Module):
    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body
        channels = cast(FeatureInfo, body.feature_info).channels()  # a features_only network's (see pyramid_indices)
        self.fpn = FeaturePyramidNetwork(channels, FPN_CHANNELS, extra_blocks=LastLevelP6P7(FPN_CHANNELS, FPN_CHANNELS))
        self.out_channels = FPN_CHANNELS

    def forward(self, images: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        features = self.body(images)
        return self.fpn(OrderedDict((str(k), f) for k, f in enumerate(features)))


class _ExpectedUnusedKeys(logging.Filter):
    """A features_only backbone leaves the weights file's classifier unused; timm warns about it on every build."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Unexpected keys")


logging.getLogger("timm.models._builder").addFilter(_ExpectedUnusedKeys())


def build_detector(
    backbone: Backbone, num_classes: int, *, min_size: int, max_size: int, weights_dir: Path | None,
    score_floor: float = 0.05,
) -> FCOS:
    """weights_dir=None: the architecture only (its weights are about to be loaded from an artifact)."""
    indices = pyramid_indices(backbone.timm_name)
    if indices is None:
        raise ValueError(f"{backbone.name} has no feature maps at strides {PYRAMID_STRIDES}: it cannot carry a detector")
    if weights_dir is not None:
        body = build_backbone(backbone.name, weights_dir=weights_dir, features_only=True, out_indices=indices)
    else:
        body = timm.create_model(backbone.timm_name, pretrained=False, features_only=True, out_indices=indices)
    body = freeze_batch_norm_2d(body)
    _freeze_early_stages(body)
    detector = FCOS(
        PyramidBackbone(body),
        num_classes=num_classes,
        head=FCOSHead(FPN_CHANNELS, 1, num_classes, num_convs=HEAD_CONVS),
        min_size=min_size,
        max_size=max_size,
        image_mean=list(backbone.preprocess.mean),
        image_std=list(backbone.preprocess.std),
        score_thresh=score_floor,
        detections_per_img=MAX_DETECTIONS,
    )
    # FCOS regresses each side's distance in units of the level's stride, and a level takes the objects whose
    # largest distance is 4 to 8 strides. torchvision starts the regression at zero, from where Adam needs thousands
    # of steps to reach those values (boxes stay small and all of one size); budgets of minutes give hundreds.
    # Starting at the typical value leaves only the refinement to learn, as the classification prior does.
    torch.nn.init.constant_(detector.head.regression_head.bbox_reg.bias, REGRESSION_PRIOR)
    return detector


def _freeze_early_stages(body: nn.Module) -> None:
    """The stages up to the first one the pyramid reads (stride 8) keep their ImageNet weights: edges and textures
    transfer as they are, a few images cannot improve them, and their backward pass at high resolution was 60% of
    a training step on a CPU (torchvision's detectors freeze their backbone's first stages for the same reasons)."""
    first = cast(FeatureInfo, body.feature_info).module_name()[0]  # a features_only network's (see pyramid_indices)
    reached = False
    for name, parameter in body.named_parameters():  # in the order of the forward pass
        inside = name.startswith(first + ".")
        if reached and not inside:
            return
        reached |= inside
        parameter.requires_grad_(False)
