"""Every registered backbone builds from its converted weights and runs (timm's tests/test_models.py, in spirit)."""

from __future__ import annotations

from pathlib import Path

import pytest
import safetensors.torch
import torch

from tailor.automl.backbones import BACKBONES, BackboneWeightsError, build_backbone, get_backbone


def _loaded_from_file(model: torch.nn.Module, file: Path, *, skip: str = "") -> bool:
    expected = safetensors.torch.load_file(file)
    state = model.state_dict()
    return all(torch.equal(t, expected[name]) for name, t in state.items() if not (skip and name.startswith(skip)))


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_feature_extractor(name: str, weights_dir: Path) -> None:
    backbone = get_backbone(name)
    model = build_backbone(name, weights_dir=weights_dir).eval()
    assert _loaded_from_file(model, weights_dir / f"{name}.safetensors")
    with torch.no_grad():
        features = model(torch.rand(2, 3, backbone.input_size, backbone.input_size))
    assert features.shape == (2, backbone.feature_dim)
    assert torch.isfinite(features).all()


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_fresh_head(name: str, weights_dir: Path) -> None:
    backbone = get_backbone(name)
    model = build_backbone(name, weights_dir=weights_dir, num_classes=5, drop_rate=0.1).eval()
    # everything but the head is pretrained
    assert _loaded_from_file(model, weights_dir / f"{name}.safetensors", skip="classifier.")
    with torch.no_grad():
        logits = model(torch.rand(2, 3, backbone.input_size, backbone.input_size))
    assert logits.shape == (2, 5)


def test_overrides_go_to_timm(weights_dir: Path) -> None:
    # in_chans=1: timm folds the pretrained RGB stem into one channel; everything else is loaded as is
    model = build_backbone("efficientnet_lite0", weights_dir=weights_dir, in_chans=1, drop_path_rate=0.1).eval()
    assert model.conv_stem.weight.shape[1] == 1
    assert _loaded_from_file(model, weights_dir / "efficientnet_lite0.safetensors", skip="conv_stem.")
    with torch.no_grad():
        assert model(torch.rand(1, 1, 224, 224)).shape == (1, 1280)


def test_a_fresh_head_of_imagenet_width_is_still_fresh(weights_dir: Path) -> None:
    fresh = build_backbone("mobilenetv2_100", weights_dir=weights_dir, num_classes=1000)
    kept = build_backbone("mobilenetv2_100", weights_dir=weights_dir, num_classes=1000, pretrained_head=True)
    assert not torch.equal(fresh.classifier.weight, kept.classifier.weight)
    assert _loaded_from_file(kept, weights_dir / "mobilenetv2_100.safetensors")


def test_the_pretrained_head_has_its_own_width(weights_dir: Path) -> None:
    with pytest.raises(ValueError, match="1000"):
        build_backbone("efficientnet_lite0", weights_dir=weights_dir, num_classes=10, pretrained_head=True)


def test_arguments_it_sets_itself_are_refused(weights_dir: Path) -> None:
    with pytest.raises(ValueError, match="pretrained_cfg_overlay"):
        build_backbone("efficientnet_lite0", weights_dir=weights_dir, pretrained_cfg_overlay={})


def test_an_unknown_name_lists_the_known_ones(weights_dir: Path) -> None:
    with pytest.raises(ValueError, match="efficientnet_lite0, efficientnet_lite1, efficientnet_lite2, mobilenetv2_100"):
        build_backbone("vit_base_patch16_224", weights_dir=weights_dir)


def test_weights_not_prepared(tmp_path: Path) -> None:
    with pytest.raises(BackboneWeightsError, match="prepare_weights"):
        build_backbone("efficientnet_lite0", weights_dir=tmp_path)


def test_a_file_missing_weights_is_refused(weights_dir: Path, tmp_path: Path) -> None:
    # timm loads a headless model with strict=False; build_backbone must not let a gap through.
    tensors = safetensors.torch.load_file(weights_dir / "efficientnet_lite0.safetensors")
    del tensors["conv_stem.weight"]
    safetensors.torch.save_file(tensors, tmp_path / "efficientnet_lite0.safetensors")
    with pytest.raises(BackboneWeightsError, match=r"conv_stem\.weight"):
        build_backbone("efficientnet_lite0", weights_dir=tmp_path)
