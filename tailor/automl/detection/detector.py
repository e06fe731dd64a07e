"""A trained detector as a file pair, and running it: the same safetensors + config.json layout as classifiers
(artifact.py), with `"task": "detection"`.

    config.json   {"format": 2, "task": "detection", "class_names": [...], "backbone", "timm_name", "mean", "std",
                   "min_size", "max_size", "score_floor", "recipe": {...}, "search": {...}}
    detector = Detector.load(folder)
    found = detector.detect(images)   # per image: boxes (xyxy pixels of that image), labels, scores; best first
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from torchvision.models.detection import FCOS

from ...enums import AnnotationKind
from ...files import staged_folder
from ..artifact import CONFIG_FILE, FORMAT, WEIGHTS_FILE, ArtifactError, task_of
from ..backbones import BACKBONES, Backbone, Preprocess, WeightsSource
from ..devices import autocast, default_device, onto
from ..inputs import boxes_on_image, detector_input
from .network import build_detector

SCORE_FLOOR = 0.3  # detections below this confidence are not returned by analyze (documented in the README)
EVALUATION_FLOOR = 0.05  # what average precision is measured over (torchvision's default)


@dataclass(frozen=True)
class DetectorConfig:
    class_names: tuple[str, ...]
    backbone: str
    timm_name: str
    min_size: int
    max_size: int
    recipe: dict[str, Any]
    search: dict[str, Any]
    score_floor: float = SCORE_FLOOR
    # The backbone's normalisation, so that the file alone rebuilds the network (an operator's backbone is in no
    # registry where the model is served); None in a detector of an older Tailor: the bundled backbone's.
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "task": AnnotationKind.DETECTION.short, "class_names": list(self.class_names),
                "backbone": self.backbone, "timm_name": self.timm_name, "mean": self.mean, "std": self.std,
                "min_size": self.min_size, "max_size": self.max_size, "score_floor": self.score_floor,
                "recipe": self.recipe, "search": self.search}

    def architecture(self) -> Backbone:
        """The backbone as far as building the network needs it (its timm architecture and normalisation)."""
        if self.mean is None or self.std is None:
            return BACKBONES[self.backbone]
        preprocess = Preprocess(self.min_size, 1.0, "bilinear", self.mean, self.std)
        return Backbone(self.backbone, self.timm_name, preprocess, 0, 0.0, WeightsSource("", "", ""))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DetectorConfig:
        if data.get("format") != FORMAT or task_of(data) is not AnnotationKind.DETECTION:
            raise ArtifactError(f"not a detector of format {FORMAT}: format {data.get('format')}, task {data.get('task')}")
        mean, std = data.get("mean"), data.get("std")
        return cls(tuple(data["class_names"]), data["backbone"], data["timm_name"], int(data["min_size"]),
                   int(data["max_size"]), dict(data.get("recipe", {})), dict(data.get("search", {})),
                   float(data.get("score_floor", SCORE_FLOOR)), None if mean is None else tuple(mean),
                   None if std is None else tuple(std))


def write_detector(directory: Path, network: FCOS, config: DetectorConfig) -> Path:
    """Both files into a fresh temporary folder, then renamed into place: never a half-written model."""
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in network.state_dict().items()}
    with staged_folder(directory) as staging:
        save_file(state, str(staging / WEIGHTS_FILE))
        (staging / CONFIG_FILE).write_text(json.dumps(config.to_json(), indent=1))
    return directory


class Detector:
    def __init__(self, config: DetectorConfig, network: FCOS, device: torch.device | str = "cpu",
                 score_floor: float | None = None):
        """score_floor: the lowest confidence returned; None, the config's (analyze's). Measuring average precision
        wants the low-confidence detections too (EVALUATION_FLOOR)."""
        self.config = config
        self.device = torch.device(device)
        self.network = network.eval().to(self.device)
        self.network.transform.resize = _as_given
        self.network.score_thresh = config.score_floor if score_floor is None else score_floor

    @classmethod
    def load(
        cls, directory: Path, device: torch.device | str | None = None, score_floor: float | None = None
    ) -> Detector:
        directory = Path(directory)
        try:
            config = DetectorConfig.from_json(json.loads((directory / CONFIG_FILE).read_text()))
            backbone = config.architecture()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ArtifactError(f"{directory / CONFIG_FILE} cannot be read as a detector config: {exc}") from exc
        network = build_detector(backbone, len(config.class_names), min_size=config.min_size,
                                 max_size=config.max_size, weights_dir=None)
        try:
            network.load_state_dict(load_file(str(directory / WEIGHTS_FILE)))
        except (OSError, RuntimeError) as exc:
            raise ArtifactError(f"{directory / WEIGHTS_FILE} cannot be loaded: {exc}") from exc
        return cls(config, network, device or default_device(), score_floor)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.config.class_names

    def detect(self, images: Sequence[Image.Image]) -> list[dict[str, np.ndarray]]:
        """Per image: "boxes" (m, 4) float xyxy in that image's pixels, "labels" (m,), "scores" (m,), highest score
        first, after non-maximum suppression, at most 100, none below the score floor."""
        return [self._detect(image) for image in images]

    def _detect(self, image: Image.Image) -> dict[str, np.ndarray]:
        # One image per forward pass: a batch pads its images to the largest, which changes the features along the
        # padded edges, so an image's boxes would depend on the images it happened to be sent with.
        array = detector_input(image, self.config.min_size, self.config.max_size)
        with torch.inference_mode(), autocast(self.device):
            [output] = self.network([onto(torch.from_numpy(array).permute(2, 0, 1).float().div_(255), self.device)])
        found = {k: v.float().cpu().numpy() if k != "labels" else v.cpu().numpy() for k, v in output.items()}
        found["boxes"] = boxes_on_image(found["boxes"], image, array)
        return found

def _as_given(image: torch.Tensor, target: Any = None) -> tuple[torch.Tensor, Any]:
    """A served detector's own resize: none, its input is already at the network's size (`inputs.detector_input`,
    which an exported model's user reproduces with numpy, where torch's resize inside the network could not be)."""
    return image, target
