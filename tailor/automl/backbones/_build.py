"""Building a registered backbone as a timm model with its converted pretrained weights loaded."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import safetensors
import timm
from torch import nn

from ._errors import BackboneWeightsError
from ._files import weights_path
from ._prepare import registry_for
from ._registry import get_backbone
from ._spec import Backbone

# Arguments that build_backbone sets itself; an override would silently change what "pretrained" means.
_RESERVED = frozenset({"pretrained", "pretrained_cfg", "pretrained_cfg_overlay", "num_classes"})


def build_backbone(
    name: str,
    *,
    weights_dir: Path,
    num_classes: int = 0,
    pretrained_head: bool = False,
    registry: Mapping[str, Backbone] | None = None,
    **overrides: Any,
) -> nn.Module:
    """The timm model `name` with its pretrained weights from `weights_dir` (see prepare_weights), in timm's default
    (training) mode.

    num_classes=0: a feature extractor, whose output is the pooled features (backbone.feature_dim wide).
    num_classes>0: a freshly initialised linear head of that width on top, unless pretrained_head=True, which keeps
    the ImageNet classifier the weights came with (num_classes must then be its width, 1000).
    overrides go to timm.create_model (drop_rate, drop_path_rate, ...).
    registry: where `name` is looked up; by default the bundled backbones and the operator's in `weights_dir`.
    """
    backbone = get_backbone(name, registry_for(weights_dir) if registry is None else registry)
    if clash := sorted(_RESERVED & overrides.keys()):
        raise ValueError(f"build_backbone sets {', '.join(clash)} itself")
    if pretrained_head and num_classes != backbone.weights.num_classes:
        raise ValueError(
            f"the pretrained head of {name} has {backbone.weights.num_classes} classes; num_classes={num_classes}"
        )
    path = weights_path(weights_dir, name)
    if not path.is_file():
        raise BackboneWeightsError(
            f"no weights for {name} at {path}: {backbone.weights.how_to_get}"
        )
    # Without the pretrained head the model is built headless and the head added after loading, so that a fresh
    # 1000-class head is fresh too (timm would keep the file's classifier whenever the widths match).
    model = timm.create_model(
        backbone.timm_name,
        pretrained=True,
        num_classes=num_classes if pretrained_head else 0,
        pretrained_cfg_overlay=_pretrained_cfg(backbone, path),
        **overrides,
    )
    _check_loaded(model, path)
    if num_classes > 0 and not pretrained_head:
        model.reset_classifier(num_classes)  # type: ignore[operator]  # every timm classifier model has it
    return model


def _pretrained_cfg(backbone: Backbone, path: Path) -> dict[str, Any]:
    # `file` makes timm load from disk, never from a hub; the preprocessing keys make timm.data.resolve_data_config
    # (model=...) answer what these weights expect, which for torchvision's mobilenet_v2 is not timm's default.
    return {"file": str(path), "num_classes": backbone.weights.num_classes, **backbone.preprocess.data_config()}


def _flat(name: str) -> str:
    """A tensor's name without separators: a features_only model flattens nested stages (`stages.0` becomes
    `stages_0`), the file keeps the full model's names."""
    return name.replace(".", "").replace("_", "")


def _check_loaded(model: nn.Module, path: Path) -> None:
    """timm loads a headless model with strict=False and only logs what was missing: make a gap an error. Names are
    enough: a tensor of the wrong shape already fails in load_state_dict, and some overrides (in_chans) reshape on
    purpose."""
    with safetensors.safe_open(path, "pt") as f:
        present = {_flat(name) for name in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
    missing = [name for name in model.state_dict() if _flat(name) not in present]
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise BackboneWeightsError(f"{path} does not hold every weight of the model: {shown}")
