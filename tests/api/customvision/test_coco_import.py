"""Ours: POST .../images/coco imports a COCO file into a project, all or nothing, with every problem listed; checked
through the official SDK, with the images in a real Azurite container."""

from __future__ import annotations

import json

import pytest
import requests

from tests.api.conftest import TRAINING_KEY

from .conftest import Tailor, jpeg, tool_scene, tree

GENERAL_DETECTION = "da2e3a8a-40a5-4171-82f4-58522f70fbc1"
HEADERS = {"Training-Key": TRAINING_KEY}


def coco_url(tailor: Tailor, project_id: str, version: str = "v3.4-preview") -> str:
    return f"{tailor.url}/customvision/{version}/training/projects/{project_id}/images/coco"


def post(tailor: Tailor, project_id: str, body, version: str = "v3.4-preview", **params) -> requests.Response:
    return requests.post(coco_url(tailor, project_id, version), headers=HEADERS, params=params,
                         data=json.dumps(body), timeout=60)


def classification_file(urls: list[str]) -> dict:
    """hemlock on images 1 and 2, tall on 2, nothing on 3."""
    return {
        "images": [{"id": k + 1, "width": 160, "height": 120, "file_name": f"t{k}.jpg", "absolute_url": url}
                   for k, url in enumerate(urls)],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1}, {"id": 2, "image_id": 2, "category_id": 1},
                        {"id": 3, "image_id": 2, "category_id": 2}],
        "categories": [{"id": 1, "name": "hemlock"}, {"id": 2, "name": "tall"}],
    }


@pytest.fixture
def pictures(azurite):
    azurite.container("coco", public=True)

    def upload(name: str, data: bytes) -> str:
        return azurite.upload("coco", name, data)

    return upload


def test_import_a_classification_file_then_again(tailor: Tailor, pictures) -> None:
    trainer = tailor.trainer()
    project = trainer.create_project("Imported trees", classification_type="Multilabel")
    tall = trainer.create_tag(project.id, "Tall")  # reused by name, whatever the case
    urls = [pictures(f"tree{k}.jpg", jpeg(tree("hemlock", k))) for k in range(3)]
    body = classification_file(urls)

    checked = post(tailor, project.id, body, validateOnly="true")
    assert checked.status_code == 200, checked.text
    assert checked.json()["validateOnly"] is True and checked.json()["imagesAdded"] == 3
    assert trainer.get_image_count(project.id) == 0 and len(trainer.get_tags(project.id)) == 1

    answer = post(tailor, project.id, body, version="v3.3")
    assert answer.status_code == 200, answer.text
    summary = answer.json()
    assert summary["kind"] == "classification" and summary["images"] == 3 and summary["imagesAdded"] == 3
    assert summary["tagsCreated"] == ["hemlock"] and summary["tagsReused"] == ["Tall"]
    assert summary["imageTagsAdded"] == 3 and summary["duplicatesSkipped"] == 0
    tags = {t.name: t for t in trainer.get_tags(project.id)}
    assert set(tags) == {"hemlock", "Tall"} and tags["Tall"].id == tall.id
    assert trainer.get_tagged_image_count(project.id) == 2 and trainer.get_untagged_image_count(project.id) == 1
    images = trainer.get_tagged_images(project.id)
    assert sorted(sorted(t.tag_name for t in i.tags) for i in images) == [["Tall", "hemlock"], ["hemlock"]]

    again = post(tailor, project.id, body)  # the same images: skipped, nothing changes
    assert again.status_code == 200 and again.json()["imagesAdded"] == 0 and again.json()["duplicatesSkipped"] == 3
    assert trainer.get_image_count(project.id) == 3


def test_import_a_detection_file_by_uri(tailor: Tailor, pictures) -> None:
    trainer = tailor.trainer()
    project = trainer.create_project("Imported tools", domain_id=GENERAL_DETECTION)
    scenes = [tool_scene("fork", 1), tool_scene("scissors", 2)]
    urls = [pictures(f"tool{k}.jpg", jpeg(image)) for k, (image, _) in enumerate(scenes)]
    coco = {
        "images": [{"id": k + 1, "width": 160, "height": 120, "file_name": f"tool{k}.jpg", "coco_url": url}
                   for k, url in enumerate(urls)],
        "annotations": [{"id": k + 1, "image_id": k + 1, "category_id": k + 1, "bbox": list(box)}
                        for k, (_, box) in enumerate(scenes)],
        "categories": [{"id": 1, "name": "fork"}, {"id": 2, "name": "scissors"}],
    }
    file_uri = pictures("tools.json", json.dumps(coco).encode())
    answer = post(tailor, project.id, {"annotationFileUri": file_uri})
    assert answer.status_code == 200, answer.text
    assert answer.json()["kind"] == "detection" and answer.json()["regionsAdded"] == 2
    assert answer.json()["tagsCreated"] == ["fork", "scissors"]
    images = trainer.get_tagged_images(project.id)
    found = {i.regions[0].tag_name: (i.regions[0].left, i.regions[0].top, i.regions[0].width, i.regions[0].height)
             for i in images}
    for (_, box), name in zip(scenes, ("fork", "scissors")):
        assert found[name] == pytest.approx(box, abs=1e-6)


def test_every_problem_listed_and_nothing_imported(tailor: Tailor, pictures) -> None:
    trainer = tailor.trainer()
    project = trainer.create_project("Broken trees", classification_type="Multilabel")
    urls = [pictures(f"tree{k}.jpg", jpeg(tree("cherry", k))) for k in range(3)]
    body = classification_file(urls)
    body["images"][1]["width"] = -5  # problem 1
    body["annotations"][0]["category_id"] = 9  # problem 2
    for params in ({}, {"validateOnly": "true"}):
        answer = post(tailor, project.id, body, fileName="trees.json", **params)
        assert answer.status_code == 400, answer.text
        error = answer.json()
        assert error["code"] == "BadRequestInvalidCoco" and "2 problems" in error["message"]
        assert [(p["code"], p["path"], p["file"]) for p in error["problems"]] == [
            ("invalidDimension", "images[1].width", "trees.json"),
            ("unknownCategory", "annotations[0].category_id", "trees.json")]
    assert trainer.get_image_count(project.id) == 0 and trainer.get_tags(project.id) == []

    multiclass = trainer.create_project("One tag each")  # Multiclass: image 2's two categories are a problem
    one_each = post(tailor, multiclass.id, classification_file(urls))
    assert [(p["code"], p["path"]) for p in one_each.json()["problems"]] == [("tooManyCategories", "images[1]")]
    assert "Multiclass" in one_each.json()["problems"][0]["message"]

    detector = trainer.create_project("Not boxes", domain_id=GENERAL_DETECTION)
    wrong = post(tailor, detector.id, classification_file(urls))
    assert wrong.status_code == 400
    assert [p["code"] for p in wrong.json()["problems"]] == ["wrongKind"]
    assert "classification COCO file" in wrong.json()["problems"][0]["message"]


def test_uris_the_blob_policy_refuses(tailor: Tailor, pictures) -> None:
    trainer = tailor.trainer()
    project = trainer.create_project("Guarded", classification_type="Multilabel")
    refused = post(tailor, project.id, {"annotationFileUri": "http://169.254.169.254/latest/coco.json"})
    assert refused.status_code == 400
    [problem] = refused.json()["problems"]
    assert problem["code"] == "fileUnreadable" and problem["file"] == "http://169.254.169.254/latest/coco.json"
    assert post(tailor, project.id, {"annotationFileUri": "/etc/passwd"}).json()["problems"][0]["code"] == \
        "fileUnreadable"

    urls = [pictures("ok.jpg", jpeg(tree("hemlock", 1))), "http://127.0.0.1:9/secret.jpg", "file:///etc/hosts"]
    answer = post(tailor, project.id, classification_file(urls))
    assert answer.status_code == 400
    assert [(p["code"], p["path"]) for p in answer.json()["problems"]] == [
        ("imageUnreadable", "images[1]"), ("imageUnreadable", "images[2]")]
    assert trainer.get_image_count(project.id) == 0 and trainer.get_tags(project.id) == []
