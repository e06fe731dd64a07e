"""evaluate_classifier on the session's trained models (tests/trained.py) and generated test sets: categories
matched by name, images the model cannot be scored on left out and counted, and each failure it can see."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tailor.automl.evaluation import evaluate_classifier
from tailor.automl.failures import EvaluationFailed
from tailor.blobs import Access, BlobPolicy, BlobReader
from tailor.coco import AnnotationKind, Purpose, validate_coco
from tailor.evaluations import EvaluationFailureCode
from tests.images import shapes_dataset

READER = BlobReader(BlobPolicy.local_user())
FETCH = READER.image_fetcher(Access())


def dataset_of(path: Path):
    report = validate_coco([READER.annotation_file(str(path), max_bytes=10**7)], AnnotationKind.CLASSIFICATION,
                           Purpose.EVALUATION)
    assert report.valid, report.errors
    return report.dataset


def rewrite(path: Path, change) -> Path:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))
    return path


def test_a_test_set_in_another_category_order_is_matched_by_name(tmp_path: Path, shapes_model: Path) -> None:
    coco = shapes_dataset(tmp_path / "test", classes=3, per_class=4, seed=7)
    # The same classes under other ids, listed backwards: only the names tie them to the model's classes.
    def renumber(doc):
        doc["categories"] = [{"id": 10 - c["id"], "name": c["name"]} for c in reversed(doc["categories"])]
        for a in doc["annotations"]:
            a["category_id"] = 10 - a["category_id"]
    measured = evaluate_classifier(shapes_model, dataset_of(rewrite(coco, renumber)), FETCH)
    assert measured.performance["accuracyTop1"] >= 0.9
    expected = [int(Path(name).name[1]) for name in measured.predictions.image_names]  # files are c<class>_<k>.png
    assert measured.predictions.targets.tolist() == expected
    assert measured.predictions.scores.shape == (12, 3)
    assert np.allclose(measured.predictions.scores.sum(axis=1), 1.0)
    assert measured.skipped == {"unlabelled": 0, "unknownCategories": 0}
    assert set(measured.performance["tagPerformance"]) == {"class_0", "class_1", "class_2"}


def test_images_without_a_label_or_with_an_unknown_category_are_left_out_and_counted(
    tmp_path: Path, shapes_model: Path
) -> None:
    coco = shapes_dataset(tmp_path / "test", classes=4, per_class=3, seed=3)  # class_3 is unknown to the model

    def unlabel_first(doc):
        doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] != 1]
    measured = evaluate_classifier(shapes_model, dataset_of(rewrite(coco, unlabel_first)), FETCH)
    assert measured.skipped == {"unlabelled": 1, "unknownCategories": 3}
    assert len(measured.predictions.image_names) == 12 - 1 - 3
    assert not any("c3_" in name for name in measured.predictions.image_names)


def test_thumbnails_are_of_wrongly_predicted_images_only(tmp_path: Path, shapes_model: Path) -> None:
    coco = shapes_dataset(tmp_path / "test", classes=3, per_class=3, seed=5)

    def swap_labels(doc):  # every red disc labelled green: those predictions are confidently wrong
        for a in doc["annotations"]:
            if a["category_id"] == 1:
                a["category_id"] = 2
    measured = evaluate_classifier(shapes_model, dataset_of(rewrite(coco, swap_labels)), FETCH)
    predicted = measured.predictions.scores.argmax(axis=1)
    wrong = set(np.flatnonzero(predicted != measured.predictions.targets).tolist())
    assert len(wrong) >= 3 and set(measured.thumbnails) <= wrong and measured.thumbnails
    assert all(max(t.size) <= 160 for t in measured.thumbnails.values())


def test_a_multilabel_model_reports_precision_recall_and_f1_per_tag(tmp_path: Path, multilabel_model: Path) -> None:
    coco = shapes_dataset(tmp_path / "test", classes=3, per_class=4, seed=11, multilabel=True)
    measured = evaluate_classifier(multilabel_model, dataset_of(coco), FETCH)
    assert measured.predictions.multilabel and measured.predictions.targets.shape == (12, 3)
    for tag in measured.performance["tagPerformance"].values():
        assert {"precision", "recall", "f1", "threshold"} <= set(tag)
        assert 0.0 <= tag["f1"] <= 1.0


def test_no_category_in_common_is_invalid_annotations(tmp_path: Path, shapes_model: Path) -> None:
    coco = rewrite(shapes_dataset(tmp_path / "test", classes=3, per_class=2),
                   lambda doc: [c.update(name=f"fruit_{c['id']}") for c in doc["categories"]])
    with pytest.raises(EvaluationFailed) as failed:
        evaluate_classifier(shapes_model, dataset_of(coco), FETCH)
    assert failed.value.code is EvaluationFailureCode.DATASET_ANNOTATIONS_INVALID
    assert "'fruit_1'" in failed.value.message and "'class_0'" in failed.value.message


def test_a_dataset_without_annotations_is_empty(tmp_path: Path, shapes_model: Path) -> None:
    coco = rewrite(shapes_dataset(tmp_path / "test", classes=3, per_class=2), lambda doc: doc.update(annotations=[]))
    with pytest.raises(EvaluationFailed) as failed:
        evaluate_classifier(shapes_model, dataset_of(coco), FETCH)
    assert failed.value.code is EvaluationFailureCode.DATASET_EMPTY


def test_an_unreadable_image_is_named(tmp_path: Path, shapes_model: Path) -> None:
    coco = shapes_dataset(tmp_path / "test", classes=3, per_class=2)
    (coco.parent / "c1_0.png").write_bytes(b"not a png")
    with pytest.raises(EvaluationFailed) as failed:
        evaluate_classifier(shapes_model, dataset_of(coco), FETCH)
    assert failed.value.code is EvaluationFailureCode.DATASET_ANNOTATIONS_INVALID
    assert "c1_0.png" in failed.value.message


def test_model_files_that_cannot_be_read_are_model_not_found(tmp_path: Path, shapes_model: Path) -> None:
    broken = shutil.copytree(shapes_model, tmp_path / "model")
    (broken / "model.safetensors").unlink()
    coco = shapes_dataset(tmp_path / "test", classes=3, per_class=2)
    with pytest.raises(EvaluationFailed) as failed:
        evaluate_classifier(broken, dataset_of(coco), FETCH)
    assert failed.value.code is EvaluationFailureCode.MODEL_NOT_FOUND
