"""Object detection (`Generic-Detector`): torchvision's FCOS over the offline timm backbones, trained within the
same budget ledger as classifiers.

    result = train_detector(TrainingRequest(dataset, fetch, budget_seconds, weights_dir, output_dir))
    detector = Detector.load(result.artifact_dir)
    found = detector.detect(images)    # per image: boxes (xyxy pixels), labels, scores
"""

from importlib import import_module
from typing import Any

from .fit import DEFAULT_RECIPE, DetectionRecipe

_LAZY = {"train_detector": ".training", "Detector": ".detector"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_RECIPE", "DetectionRecipe", "Detector", "train_detector"]
