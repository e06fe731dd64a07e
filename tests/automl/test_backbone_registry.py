"""The registry itself: lookup, the recorded facts about each backbone, and the public surface."""

from __future__ import annotations

from dataclasses import replace

import pytest
import timm
import torch
from torch.utils.flop_counter import FlopCounterMode

from tailor.automl import backbones
from tailor.automl.backbones import BACKBONES, get_backbone, registry_of


def test_public_surface_is_pinned() -> None:
    assert sorted(backbones.__all__) == [
        "BACKBONES",
        "Backbone",
        "BackboneWeightsError",
        "OperatorSource",
        "Preprocess",
        "TensorMapping",
        "WeightsSource",
        "available_backbones",
        "build_backbone",
        "get_backbone",
        "parse_backbones",
        "prepare_weights",
        "registry_for",
        "registry_of",
    ]


def test_the_four_backbones_are_registered() -> None:
    assert sorted(BACKBONES) == ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "mobilenetv2_100"]
    assert all(name == b.name for name, b in BACKBONES.items())


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError) as e:
        get_backbone("resnet50")
    message = str(e.value)
    assert "'resnet50'" in message
    assert all(name in message for name in BACKBONES)


def test_a_name_registered_twice_is_refused() -> None:
    lite0 = get_backbone("efficientnet_lite0")
    with pytest.raises(ValueError, match="efficientnet_lite0"):
        registry_of(lite0, replace(lite0, gflops=1.0))


def test_the_registry_cannot_be_changed() -> None:
    with pytest.raises(TypeError):
        BACKBONES["other"] = get_backbone("efficientnet_lite0")  # type: ignore[index]


def test_a_variant_is_a_replace() -> None:
    lite0 = get_backbone("efficientnet_lite0")
    bigger = replace(lite0, name="efficientnet_lite0_320", preprocess=replace(lite0.preprocess, input_size=320))
    assert bigger.input_size == 320 and lite0.input_size == 224
    assert lite0.gflops_at(320) == pytest.approx(lite0.gflops * (320 / 224) ** 2)


@pytest.mark.parametrize("name", ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"])
def test_efficientnet_lite_preprocessing_is_timms(name: str) -> None:
    # These files were converted from the same TF checkpoints timm's tf_efficientnet_lite* weights come from.
    backbone = get_backbone(name)
    pretrained_cfg = timm.get_pretrained_cfg(backbone.timm_name)
    assert pretrained_cfg is not None
    cfg = pretrained_cfg.to_dict()
    assert {k: cfg[k] for k in backbone.preprocess.data_config()} == backbone.preprocess.data_config()


def test_mobilenet_preprocessing_is_torchvisions() -> None:
    # The file is torchvision's: resize 256 bilinear, crop 224, ImageNet mean and std (not timm's bicubic default).
    preprocess = get_backbone("mobilenetv2_100").preprocess
    assert (preprocess.resize_size, preprocess.input_size, preprocess.interpolation) == (256, 224, "bilinear")
    assert preprocess.mean == (0.485, 0.456, 0.406) and preprocess.std == (0.229, 0.224, 0.225)


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_the_preprocessing_data_drives_timms_transform(name: str) -> None:
    preprocess = get_backbone(name).preprocess
    transform = timm.data.create_transform(**preprocess.data_config())
    resize, crop = transform.transforms[0], transform.transforms[1]
    assert resize.size == preprocess.resize_size
    assert tuple(crop.size) == (preprocess.input_size, preprocess.input_size)
    assert resize.interpolation.value == preprocess.interpolation


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_recorded_cost_and_width_match_the_model(name: str) -> None:
    backbone = get_backbone(name)
    model = timm.create_model(backbone.timm_name, pretrained=False).eval()
    assert model.num_features == backbone.feature_dim
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 3, backbone.input_size, backbone.input_size))
    assert counter.get_total_flops() / 1e9 == pytest.approx(backbone.gflops, rel=0.02)
