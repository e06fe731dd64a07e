"""Loading any trained model by what its artifact says it is: a classifier (Predictor) or a detector (Detector)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .artifact import CONFIG_FILE, ArtifactError


def load_model(directory: Path, device: Any = None, **options: Any) -> Any:
    """A Predictor (`probabilities(images)`) or a Detector (`detect(images)`); ArtifactError when neither."""
    try:
        task = json.loads((Path(directory) / CONFIG_FILE).read_text()).get("task", "classification")
    except (OSError, ValueError, AttributeError) as exc:
        raise ArtifactError(f"{Path(directory) / CONFIG_FILE} cannot be read: {exc}") from exc
    if task == "detection":
        from .detection.detector import Detector

        return Detector.load(Path(directory), device, **options)
    from .predictor import Predictor

    return Predictor.load(Path(directory), device)
