"""The model artifact: safetensors weights (backbone and head together) plus a small JSON config, enough for the
predictor to rebuild the network without pickle and without the training code."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn

from .backbones import Backbone

FORMAT = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class ClassifierConfig:
    backbone: str
    timm_name: str
    input_size: int
    resize_size: int
    interpolation: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    class_names: tuple[str, ...]
    multilabel: bool
    thresholds: tuple[float, ...] | None
    recipe: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "task": "classification", **self.__dict__}


class Classifier(nn.Module):
    """Backbone features into a linear head: the network that is exported and served."""

    def __init__(self, backbone: nn.Module, head: nn.Linear):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(images))


def write_artifact(directory: Path, model: Classifier, config: ClassifierConfig) -> Path:
    """Write both files into a fresh temporary folder, then rename it into place: never a half-written model."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(staging / WEIGHTS_FILE))
    (staging / CONFIG_FILE).write_text(json.dumps(config.to_json(), indent=1))
    os.replace(staging, directory)
    return directory


def config_for(backbone: Backbone, input_size: int, class_names, multilabel, thresholds, recipe) -> ClassifierConfig:
    preprocess = backbone.preprocess
    resize = int(input_size / preprocess.crop_pct)
    return ClassifierConfig(
        backbone=backbone.name,
        timm_name=backbone.timm_name,
        input_size=input_size,
        resize_size=resize,
        interpolation=preprocess.interpolation,
        mean=tuple(preprocess.mean),
        std=tuple(preprocess.std),
        class_names=tuple(class_names),
        multilabel=multilabel,
        thresholds=tuple(float(t) for t in thresholds) if thresholds is not None else None,
        recipe=recipe,
    )
