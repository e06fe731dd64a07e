"""Loading any trained model by what its artifact says it is: a classifier (Predictor) or a detector (Detector)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..enums import AnnotationKind
from .artifact import CONFIG_FILE, ArtifactError, task_of


def load_model(directory: Path, device: Any = None, **options: Any) -> Any:
    """A Predictor (`probabilities(images)`) or a Detector (`detect(images)`); ArtifactError when neither."""
    try:
        config = json.loads((Path(directory) / CONFIG_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{Path(directory) / CONFIG_FILE} cannot be read: {exc}") from exc
    if not isinstance(config, dict):
        raise ArtifactError(f"{Path(directory) / CONFIG_FILE} is not a JSON object")
    if task_of(config) is AnnotationKind.DETECTION:
        from .detection.detector import Detector

        return Detector.load(Path(directory), device, **options)
    from .predictor import Predictor

    return Predictor.load(Path(directory), device)
