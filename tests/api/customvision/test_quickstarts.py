"""The calls of the two official Custom Vision Python quickstarts (Azure-Samples/cognitive-services-quickstart-code,
python/CustomVision/ImageClassification and ObjectDetection), in their order and argument forms, through the
official SDK against a live Tailor keeping its images in Azurite: images drawn under the quickstarts' file names,
a batch of 20 and one of 40, bytes and file objects, training without a budget, publishing twice, the General
object-detection domain found by type and name."""

from __future__ import annotations

import json
import time
import uuid
import zipfile
from pathlib import Path

import pytest
import requests
from azure.cognitiveservices.vision.customvision.prediction.models import CustomVisionErrorException as PredictionError
from azure.cognitiveservices.vision.customvision.training.models import (
    CustomVisionErrorException as TrainingError,
    ImageFileCreateBatch,
    ImageFileCreateEntry,
    Region,
)
from PIL import Image

from tailor.automl.images import prepare_image
from tailor.automl.runtime import load_onnx
from tests.databases import empty_database_url

from .conftest import DETECTOR_BUDGET_HOURS, Tailor, jpeg, live_tailor, tool_scene, tree

TRAINING_DEADLINE_S = 600


def wait_until_trained(trainer, project_id: str, iteration):
    """The quickstarts poll `while iteration.status != "Completed"`, which never ends on a failure: this loop
    also stops there, and says why."""
    deadline = time.monotonic() + TRAINING_DEADLINE_S
    while iteration.status != "Completed":
        assert iteration.status == "Training", (iteration.status, iteration.training_error_details)
        assert time.monotonic() < deadline, "training did not end in time"
        time.sleep(1)
        iteration = trainer.get_iteration(project_id, iteration.id)
    return iteration


def test_classification_quickstart(tailor: Tailor, tmp_path: Path) -> None:
    base = tmp_path / "samples/vision/"
    for kind, folder, stem in (("hemlock", "Hemlock", "hemlock"), ("cherry", "Japanese Cherry", "japanese_cherry")):
        (base / "images" / folder).mkdir(parents=True)
        for n in range(1, 11):
            (base / "images" / folder / f"{stem}_{n}.jpg").write_bytes(jpeg(tree(kind, seed=n)))
    (base / "images/Test").mkdir()
    (base / "images/Test/test_image.jpg").write_bytes(jpeg(tree("hemlock", seed=99)))
    base_image_url = str(base) + "/"
    trainer, predictor = tailor.trainer(), tailor.predictor()
    prediction_resource_id = "/subscriptions/x/resourceGroups/y/providers/Microsoft.CognitiveServices/accounts/z"

    project = trainer.create_project("My New Project")
    hemlock_tag = trainer.create_tag(project.id, "Hemlock")
    cherry_tag = trainer.create_tag(project.id, "Japanese Cherry")

    image_list = []
    for image_num in range(1, 11):
        file_name = f"hemlock_{image_num}.jpg"
        with open(base_image_url + "images/Hemlock/" + file_name, "rb") as image_contents:
            image_list.append(ImageFileCreateEntry(name=file_name, contents=image_contents.read(),
                                                   tag_ids=[hemlock_tag.id]))
    for image_num in range(1, 11):
        file_name = f"japanese_cherry_{image_num}.jpg"
        with open(base_image_url + "images/Japanese Cherry/" + file_name, "rb") as image_contents:
            image_list.append(ImageFileCreateEntry(name=file_name, contents=image_contents.read(),
                                                   tag_ids=[cherry_tag.id]))
    upload_result = trainer.create_images_from_files(project.id, ImageFileCreateBatch(images=image_list))
    assert upload_result.is_batch_successful, [image.status for image in upload_result.images]
    assert [image.status for image in upload_result.images] == ["OK"] * 20
    assert {t.name: t.image_count for t in trainer.get_tags(project.id)} == {"Hemlock": 10, "Japanese Cherry": 10}

    iteration = trainer.train_project(project.id)
    assert iteration.status == "Training" and iteration.training_type == "Regular"
    iteration = wait_until_trained(trainer, project.id, iteration)
    # Billed minutes, never above the budget (0.36 min here: 0).
    assert iteration.trained_at is not None and iteration.training_time_in_minutes == 0

    assert trainer.publish_iteration(project.id, iteration.id, "classifyModel", prediction_resource_id) is True
    assert trainer.publish_iteration(project.id, iteration.id, "classifyModel", prediction_resource_id) is True
    published = trainer.get_iteration(project.id, iteration.id)
    assert published.publish_name == "classifyModel"
    assert published.original_publish_resource_id == prediction_resource_id

    with open(base_image_url + "images/Test/test_image.jpg", "rb") as image_contents:
        results = predictor.classify_image(project.id, "classifyModel", image_contents.read())
    shown = ["\t" + p.tag_name + f": {p.probability * 100:.2f}%" for p in results.predictions]
    assert len(shown) == 2
    assert results.predictions[0].tag_name == "Hemlock", shown
    assert results.predictions[0].tag_id == hemlock_tag.id
    assert abs(sum(p.probability for p in results.predictions) - 1) < 1e-3
    assert results.project == project.id and results.iteration == iteration.id

    # Beyond the quickstart: the export, as the "Export a model programmatically" guide's export_model does it.
    assert trainer.get_iteration(project.id, iteration.id).exportable_to == ["ONNX"]
    assert trainer.get_exports(project.id, iteration.id) == []
    export = trainer.export_iteration(project.id, iteration.id, "ONNX", "ONNX12", raw=False)
    while export.status == "Exporting":
        time.sleep(1)
        for e in trainer.get_exports(project.id, iteration.id):
            if e.platform == export.platform:
                export = e
    assert export.status == "Done" and export.platform == "ONNX" and export.flavor == "ONNX12"
    export_file = requests.get(export.download_uri, timeout=60)  # no key: the link is the credential
    assert export_file.status_code == 200, export_file.text
    (tmp_path / "export.zip").write_bytes(export_file.content)
    with zipfile.ZipFile(tmp_path / "export.zip") as archive:
        labels = archive.read("labels.txt").decode().splitlines()
        exported = load_onnx(archive.read("model.onnx"))
    assert sorted(labels) == ["Hemlock", "Japanese Cherry"] and list(exported.class_names) == labels
    with Image.open(base_image_url + "images/Test/test_image.jpg") as opened:
        [probabilities] = exported.probabilities([prepare_image(opened, exported.keep_side)])
    assert labels[int(probabilities.argmax())] == "Hemlock"
    assert abs(float(probabilities.max()) - results.predictions[0].probability) < 1e-3
    [listed] = trainer.get_exports(project.id, iteration.id)
    assert listed.status == "Done" and requests.get(listed.download_uri, timeout=60).content == export_file.content
    with pytest.raises(TrainingError) as refused:
        trainer.export_iteration(project.id, iteration.id, "CoreML")
    assert refused.value.error.code == "BadRequestExportValidationFailed"
    forged = requests.get(export.download_uri.rsplit("/", 1)[0] + "/" + json.dumps({"model": "x"}), timeout=60)
    assert forged.status_code == 404 and forged.json()["code"] == "NotFound"


def test_object_detection_quickstart(postgres_url: str, tmp_path: Path, azurite) -> None:
    """On PostgreSQL: a detector costs minutes of CPU, and the same calls on SQLite are the portal's detection flow
    (tests/portal/test_detection_flow.py: regions, training, publishing, predictions with boxes, detect_image)."""
    database = "postgresql"
    base = tmp_path / "samples/vision/"
    regions: dict[str, dict[str, tuple[float, ...]]] = {"fork": {}, "scissors": {}}
    for kind, boxes in regions.items():
        (base / "images" / kind).mkdir(parents=True)
        for n in range(1, 21):
            image, box = tool_scene(kind, seed=n + (0 if kind == "fork" else 100))
            (base / "images" / kind / f"{kind}_{n}.jpg").write_bytes(jpeg(image))
            boxes[f"{kind}_{n}"] = box
    (base / "images/Test").mkdir()
    test_image, test_box = tool_scene("scissors", seed=999)
    (base / "images/Test/test_od_image.jpg").write_bytes(jpeg(test_image))
    base_image_url = str(base) + "/"

    for tailor in live_tailor(tmp_path, azurite, empty_database_url(database, tmp_path, postgres_url),
                              DETECTOR_BUDGET_HOURS):
        trainer, predictor = tailor.trainer(), tailor.predictor()
        obj_detection_domain = next(
            domain for domain in trainer.get_domains() if domain.type == "ObjectDetection" and domain.name == "General"
        )
        assert obj_detection_domain.id == "da2e3a8a-40a5-4171-82f4-58522f70fbc1"
        project = trainer.create_project("My Detection Project", domain_id=obj_detection_domain.id)
        assert project.settings.domain_id == obj_detection_domain.id and project.settings.classification_type is None
        fork_tag = trainer.create_tag(project.id, "fork")
        scissors_tag = trainer.create_tag(project.id, "scissors")

        tagged_images_with_regions = []
        for kind, tag in (("fork", fork_tag), ("scissors", scissors_tag)):
            for file_name in regions[kind]:
                x, y, w, h = regions[kind][file_name]
                entry_regions = [Region(tag_id=tag.id, left=x, top=y, width=w, height=h)]
                with open(base_image_url + f"images/{kind}/" + file_name + ".jpg", mode="rb") as image_contents:
                    tagged_images_with_regions.append(
                        ImageFileCreateEntry(name=file_name, contents=image_contents.read(), regions=entry_regions))
        upload_result = trainer.create_images_from_files(
            project.id, ImageFileCreateBatch(images=tagged_images_with_regions))
        assert upload_result.is_batch_successful, [image.status for image in upload_result.images]
        stored = upload_result.images[0].image
        assert stored.regions[0].tag_name == "fork"
        assert abs(stored.regions[0].left - regions["fork"]["fork_1"][0]) < 1e-6

        iteration = trainer.train_project(project.id)
        iteration = wait_until_trained(trainer, project.id, iteration)
        trainer.publish_iteration(project.id, iteration.id, "detectModel", str(uuid.uuid4()))

        with open(base_image_url + "images/Test/test_od_image.jpg", mode="rb") as test_data:
            results = predictor.detect_image(project.id, "detectModel", test_data)
        assert results.predictions, "no box found"
        for p in results.predictions:
            box = p.bounding_box
            assert all(0 <= v <= 1 for v in (box.left, box.top, box.width, box.height))
            assert p.tag_id == {"fork": fork_tag.id, "scissors": scissors_tag.id}[p.tag_name]
        shown = [(p.tag_name, round(p.probability, 2), round(p.bounding_box.left, 2), round(p.bounding_box.top, 2))
                 for p in results.predictions]

        def near(p) -> bool:  # the ring's own region, within a tenth of the image on every side
            b = p.bounding_box
            return all(abs(a - t) < 0.1 for a, t in zip((b.left, b.top, b.width, b.height), test_box))

        assert any(p.tag_name == "scissors" and near(p) for p in results.predictions), (test_box, shown)

        # Beyond the quickstart: the other detection calls, and the detector proposing regions on an image to label.
        test_bytes = (base / "images/Test/test_od_image.jpg").read_bytes()
        azurite.container("od-tests", public=True)
        url = azurite.upload("od-tests", f"{database}.jpg", test_bytes)
        answers = [predictor.detect_image_with_no_store(project.id, "detectModel", test_bytes),
                   predictor.detect_image_url(project.id, "detectModel", url=url),
                   predictor.detect_image_url_with_no_store(project.id, "detectModel", url=url)]
        for answer in answers:
            assert [(p.tag_name, p.bounding_box.left) for p in answer.predictions] == \
                [(p.tag_name, p.bounding_box.left) for p in results.predictions]
        with pytest.raises(PredictionError) as wrong_call:
            predictor.classify_image(project.id, "detectModel", test_bytes)
        assert wrong_call.value.error.code == "BadRequest" and "detect_image" in wrong_call.value.error.message
        proposed = trainer.get_image_region_proposals(project.id, stored.id)
        assert proposed.image_id == stored.id and proposed.proposals
        assert proposed.proposals[0].bounding_box.width > 0
        performance = trainer.get_iteration_performance(project.id, iteration.id, threshold=0.3, overlap_threshold=0.5)
        assert {t.name for t in performance.per_tag_performance} == {"fork", "scissors"}
        assert performance.average_precision is not None
        boxes = trainer.get_image_performances(project.id, iteration.id)
        assert boxes and all(p.bounding_box is not None for b in boxes for p in b.predictions)
