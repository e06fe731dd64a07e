"""Frozen features: each (backbone, input size) pair is run over the images once and reused by every trial."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from PIL import Image

from .backbones import Backbone, Preprocess, build_backbone
from .devices import autocast, fixed_sizes, onto
from .inputs import resize_and_crop

BATCH = 32


def at_size(preprocess: Preprocess, input_size: int) -> Preprocess:
    return replace(preprocess, input_size=input_size)


def to_tensor(images: list[Image.Image], preprocess: Preprocess, *, flip: bool = False) -> torch.Tensor:
    """Resize the shorter side, centre-crop, normalise: the evaluation transform the weights were trained with."""
    size = preprocess.input_size
    batch = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for k, image in enumerate(images):
        crop = resize_and_crop(image, preprocess.resize_size, size, preprocess.interpolation)
        batch[k] = np.asarray(crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if flip else crop)
    tensor = torch.from_numpy(batch).permute(0, 3, 1, 2).float().div_(255)
    mean = torch.tensor(preprocess.mean).view(1, 3, 1, 1)
    std = torch.tensor(preprocess.std).view(1, 3, 1, 1)
    return (tensor - mean) / std


FeatureKey = tuple[str, int, bool]  # backbone name, input size, flipped


class SharedFeatures(Protocol):
    """Where a cache on one device finds the features computed on another (a trial process's Remote of the
    coordinator's FeatureCache)."""

    def known(self, key: FeatureKey) -> np.ndarray | None: ...

    def keep(self, key: FeatureKey, features: np.ndarray) -> None: ...


class FeatureCache:
    """Pooled features per (backbone, input size, flipped), computed on first use (or taken from `shared`, and
    given to it once computed)."""

    def __init__(self, images: list[Image.Image], weights_dir: Path, device: torch.device,
                 shared: SharedFeatures | None = None):
        self._images = images
        self._weights_dir = weights_dir
        self._device = device
        self._shared = shared
        self._cache: dict[FeatureKey, np.ndarray] = {}
        self._models: dict[str, torch.nn.Module] = {}

    def known(self, key: FeatureKey) -> np.ndarray | None:
        return self._cache.get(key)

    def keep(self, key: FeatureKey, features: np.ndarray) -> None:
        self._cache.setdefault(key, features)

    def features(
        self, backbone: Backbone, input_size: int, *, flip: bool = False, step: Callable[[], None] = lambda: None
    ) -> np.ndarray:
        key = (backbone.name, input_size, flip)
        if key not in self._cache and self._shared is not None:
            found = self._shared.known(key)
            if found is not None:
                self._cache[key] = found
        if key not in self._cache:
            model = self.model(backbone)
            preprocess = at_size(backbone.preprocess, input_size)
            parts = []
            with torch.inference_mode(), autocast(self._device), fixed_sizes(self._device):
                for start in range(0, len(self._images), BATCH):
                    step()  # the caller's budget and cancellation checks, between batches
                    batch = onto(to_tensor(self._images[start : start + BATCH], preprocess, flip=flip), self._device)
                    parts.append(model(batch).float().cpu().numpy())
            self._cache[key] = np.concatenate(parts) if parts else np.zeros((0, backbone.feature_dim), np.float32)
            if self._shared is not None:
                self._shared.keep(key, self._cache[key])
        return self._cache[key]

    def seconds_per_image(self, backbone: Backbone, input_size: int, sample: int = 8) -> float:
        """Measured cost of extracting features, per image, on this device (the network load not included)."""
        images = self._images[:sample]
        self.model(backbone)
        preprocess = at_size(backbone.preprocess, input_size)
        start = time.monotonic()
        with torch.inference_mode(), autocast(self._device):
            self.model(backbone)(onto(to_tensor(images, preprocess), self._device))
        if self._device.type == "cuda":
            torch.cuda.synchronize(self._device)
        return (time.monotonic() - start) / max(1, len(images))

    def model(self, backbone: Backbone) -> torch.nn.Module:
        if backbone.name not in self._models:
            model = build_backbone(backbone.name, weights_dir=self._weights_dir, num_classes=0).eval()
            # Channels-last on every device: faster on GPUs, and about 1.4x faster with oneDNN on CPUs as well.
            # torch's stubs leave memory_format out of .to(device, ...), which Module.to accepts
            model = model.to(self._device, memory_format=torch.channels_last)  # type: ignore[call-overload]
            self._models[backbone.name] = model
        return self._models[backbone.name]
