"""What a model artifact says it is: read from its config.json's `task`, in any spelling, or refused clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tailor.automl.artifact import ArtifactError, task_of
from tailor.automl.loading import load_model
from tailor.enums import AnnotationKind


def test_the_task_is_read_in_any_spelling_and_a_model_without_one_is_a_classifier() -> None:
    assert task_of({}) is AnnotationKind.CLASSIFICATION  # Tailor's first models wrote none
    assert task_of({"task": "classification"}) is AnnotationKind.CLASSIFICATION
    assert task_of({"task": "detection"}) is task_of({"task": "detector"}) is AnnotationKind.DETECTION
    with pytest.raises(ArtifactError, match="unknown annotation kind 'segmentation'"):
        task_of({"task": "segmentation"})


@pytest.mark.parametrize("content", ["[1, 2]", "{not json", None])
def test_a_config_that_cannot_say_what_the_model_is_is_an_artifact_error(tmp_path: Path, content: str | None) -> None:
    if content is not None:
        (tmp_path / "config.json").write_text(content)
    with pytest.raises(ArtifactError, match="config.json"):
        load_model(tmp_path)


def test_a_config_of_another_task_is_refused_by_the_loader_of_each(tmp_path: Path) -> None:
    from tailor.automl.artifact import ArtifactConfig
    from tailor.automl.detection.detector import DetectorConfig

    with pytest.raises(ArtifactError, match="not classification"):
        ArtifactConfig.from_json({"format": 2, "task": "detection"})
    with pytest.raises(ArtifactError, match="not a detector"):
        DetectorConfig.from_json(json.loads('{"format": 2, "task": "classification"}'))
