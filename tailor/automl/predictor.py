"""Running a trained model: each member's own preprocessing and network, and the average of their probabilities.
The analyze endpoint, evaluations and the benchmarks all predict through it, so that they agree with training.

    predictor = Predictor.load(artifact_dir)
    probabilities = predictor.probabilities(images)   # (images, classes), rows sum to 1 unless multilabel
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .artifact import ArtifactConfig, Ensemble, read_artifact
from .devices import autocast, default_device, onto
from .features import to_tensor


class Predictor:
    def __init__(self, config: ArtifactConfig, network: Ensemble, device: torch.device | str = "cpu"):
        self.config = config
        self.device = torch.device(device)
        # Channels-last on every device: faster on GPUs, and with oneDNN on CPUs too.
        # (torch's stubs leave memory_format out of .to(device, ...), which Module.to accepts)
        self.network: Ensemble = network.eval().to(self.device, memory_format=torch.channels_last)  # type: ignore[call-overload]
        # Members that share a preprocessing share its tensor.
        self._groups = config.preprocess_groups()

    @classmethod
    def load(cls, directory: Path, device: torch.device | str | None = None) -> Predictor:
        config, network = read_artifact(Path(directory))
        return cls(config, network, device or default_device())

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.config.class_names

    @property
    def keep_side(self) -> int:
        """The shorter side to prepare images at (`images.prepare_image`), as in the model's training."""
        return self.config.keep_side

    @property
    def multilabel(self) -> bool:
        return self.config.multilabel

    def probabilities(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Class probabilities per RGB image: the members' softmax (or, multilabel, per-tag sigmoid), their weighted
        average."""
        total = torch.zeros((len(images), len(self.class_names)), dtype=torch.float64)
        if not images:
            return total.numpy()
        with torch.inference_mode(), autocast(self.device):
            for preprocess, indices in self._groups.items():
                batch = onto(to_tensor(list(images), preprocess), self.device)
                for i in indices:
                    logits = self.network.members[i](batch).float()
                    scores = torch.sigmoid(logits) if self.multilabel else torch.softmax(logits, dim=1)
                    total += self.config.members[i].weight * scores.double().cpu()
        return (total / sum(member.weight for member in self.config.members)).numpy()
