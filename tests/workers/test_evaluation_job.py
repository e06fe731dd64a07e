"""The evaluation job on its own: its states, the report it leaves, and each failure code, reached by changing
what the evaluation depends on between its creation and its run (as another user or an operator could)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tailor.blobs import Access
from tailor.coco import AnnotationKind
from tailor.datasets import DatasetSpec
from tailor.evaluations import EvaluationFailureCode, EvaluationStatus
from tailor.models import ModelStatus, TrainingParameters
from tailor.workers import JobContext, run_evaluation
from tests.images import shapes_dataset

from .test_jobs import make_context


@pytest.fixture
def context(tmp_path: Path, shapes_model: Path):
    context = make_context(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    artifact = context.artifacts.upload(shapes_model, context.artifact_name("m", 1))  # as the training job does
    context.store.models.insert("m", TrainingParameters("shapes", 0.01), None)
    context.store.models.move("m", ModelStatus.NOT_STARTED, ModelStatus.SUCCEEDED, artifact=artifact)
    test = shapes_dataset(tmp_path / "datasets" / "test", classes=3, per_class=3, seed=9)
    context.store.datasets.insert("test", DatasetSpec(AnnotationKind.CLASSIFICATION, (str(test),), {}, Access()))
    yield context
    context.close()


def evaluation(context: JobContext, name: str = "e", dataset: str = "test"):
    context.store.evaluations.insert("m", name, dataset)
    return run_evaluation("m", name, context), context.store.evaluations.get("m", name)


def test_an_evaluation_succeeds_with_its_figures_and_report(context: JobContext) -> None:
    status, done = evaluation(context)
    assert status is EvaluationStatus.SUCCEEDED and done.status is EvaluationStatus.SUCCEEDED and done.error is None
    assert done.performance["accuracyTop1"] >= 0.9 and done.performance["imagesEvaluated"] == 9
    # In Tailor's storage, inside its model's folder; nothing left on this host's disk but the model's copy.
    assert done.report == "models/m/evaluations/e/attempt-1/report"
    report = json.loads(context.artifacts.read(done.report, "report.json"))
    assert report["imageCount"] == 9 and report["performance"]["accuracyTop1"] == done.performance["accuracyTop1"]
    assert all(context.artifacts.read(done.report, file) for file in report["files"])
    assert not context.evaluation_dir("m", "e", 1).exists()
    assert done.attempt == 1
    assert run_evaluation("m", "e", context) is None  # final: a second delivery of the job does nothing


def test_an_attempt_that_died_while_running_is_run_again(context: JobContext) -> None:
    context.store.evaluations.insert("m", "e", "test")
    context.store.evaluations.move("m", "e", EvaluationStatus.NOT_STARTED, EvaluationStatus.RUNNING, attempt=1)
    assert run_evaluation("m", "e", context) is EvaluationStatus.SUCCEEDED
    assert context.store.evaluations.get("m", "e").attempt == 2


def failure(context: JobContext) -> tuple[EvaluationFailureCode, str]:
    status, done = evaluation(context)
    assert status is EvaluationStatus.FAILED and done.status is EvaluationStatus.FAILED and done.report is None
    return done.error.code, done.error.message


def test_a_deleted_dataset_is_dataset_not_found(context: JobContext) -> None:
    context.store.datasets.delete("test", None)
    assert failure(context) == (EvaluationFailureCode.DATASET_NOT_FOUND, "the dataset 'test' no longer exists")


def test_a_dataset_recreated_with_boxes_is_incorrect_model_kind(context: JobContext, tmp_path: Path) -> None:
    spec = context.store.datasets.get("test").spec
    context.store.datasets.delete("test", None)
    boxes = DatasetSpec(AnnotationKind.DETECTION, spec.annotation_file_uris, {}, Access())
    context.store.datasets.insert("test", boxes)
    code, message = failure(context)
    assert code is EvaluationFailureCode.INCORRECT_MODEL_KIND and "imageObjectDetection" in message


def test_annotations_that_no_longer_validate_are_invalid(context: JobContext, tmp_path: Path) -> None:
    (tmp_path / "datasets" / "test" / "train.json").write_text('{"images": []')
    code, message = failure(context)
    assert code is EvaluationFailureCode.DATASET_ANNOTATIONS_INVALID and "train.json" in message


def test_annotations_emptied_are_dataset_empty(context: JobContext, tmp_path: Path) -> None:
    path = tmp_path / "datasets" / "test" / "train.json"
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "annotations": []}))
    assert failure(context)[0] is EvaluationFailureCode.DATASET_EMPTY


def test_a_model_whose_files_are_gone_is_model_not_found(context: JobContext) -> None:
    context.storage.delete_prefix("models/m")
    code, message = failure(context)
    assert code is EvaluationFailureCode.MODEL_NOT_FOUND and "train it again" in message


def test_a_model_damaged_in_the_storage_is_model_not_found(context: JobContext) -> None:
    artifact = context.store.models.get("m").artifact
    weights = bytearray(context.storage.get(f"{artifact}/model.safetensors"))
    weights[len(weights) // 2] ^= 0xFF  # one byte of a tensor: the same size, another sha256
    context.storage.put(f"{artifact}/model.safetensors", bytes(weights))
    code, message = failure(context)
    assert code is EvaluationFailureCode.MODEL_NOT_FOUND
    assert "its manifest records" in message and "train it again" in message


def test_a_model_of_a_landed_database_is_evaluated_from_its_folder(context: JobContext, shapes_model: Path) -> None:
    # A Tailor from before the artifact store kept the absolute path of the model's folder.
    folder = shutil.copytree(shapes_model, context.settings.data_dir / "models" / "old" / "attempt-1")
    context.store.models.insert("old", TrainingParameters("shapes", 0.01), None)
    context.store.models.move("old", ModelStatus.NOT_STARTED, ModelStatus.SUCCEEDED, artifact=str(folder))
    context.store.evaluations.insert("old", "e", "test")
    assert run_evaluation("old", "e", context) is EvaluationStatus.SUCCEEDED
    assert context.store.evaluations.get("old", "e").performance["accuracyTop1"] >= 0.9


def test_anything_unexpected_is_an_internal_error_with_an_incident_id(context: JobContext) -> None:
    # The report's folder cannot be made: a file stands where it should go.
    blocked = context.evaluation_dir("m", "e", 1)
    blocked.parent.mkdir(parents=True)
    blocked.write_text("in the way")
    code, message = failure(context)
    assert code is EvaluationFailureCode.INTERNAL_SERVER_ERROR and "incident" in message
