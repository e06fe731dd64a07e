"""Bad input through the official SDK: Custom Vision's code, a message that says what to do, and nothing changed."""

from __future__ import annotations

import pytest
import requests
from azure.cognitiveservices.vision.customvision.prediction.models import CustomVisionErrorException as PredictionError
from azure.cognitiveservices.vision.customvision.training.models import (
    CustomVisionErrorException,
    ImageFileCreateBatch,
    ImageFileCreateEntry,
    ImageTagCreateEntry,
    Region,
)

from tests.api.conftest import PREDICTION_KEY, TRAINING_KEY, Api
from tests.images import png_header_only

from .conftest import Tailor, jpeg, tree
from .test_sdk import noisy_png

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def refused(call, *args, **kwargs) -> tuple[str, str]:
    with pytest.raises((CustomVisionErrorException, PredictionError)) as caught:
        call(*args, **kwargs)
    return caught.value.error.code, caught.value.error.message


def test_keys(tailor: Tailor) -> None:
    code, message = refused(tailor.trainer("not-a-key").get_projects)
    assert code == "Unauthorized" and "invalid subscription key" in message
    # A prediction key may predict, never train.
    assert refused(tailor.trainer(PREDICTION_KEY).get_projects)[0] == "Unauthorized"
    project = tailor.trainer().create_project("keys")
    # A training key may also predict; an unknown project says so.
    code, _ = refused(tailor.predictor(TRAINING_KEY).classify_image, UNKNOWN, "x", jpeg(tree("hemlock", 1)))
    assert code == "NotFoundProject"
    assert refused(tailor.predictor("wrong").classify_image, project.id, "x", b"")[0] == "Unauthorized"
    assert [p.name for p in tailor.trainer().get_projects()] == ["keys"]


def test_unknown_records(tailor: Tailor) -> None:
    trainer = tailor.trainer()
    project = trainer.create_project("records")
    assert refused(trainer.get_project, UNKNOWN)[0] == "NotFoundProject"
    assert refused(trainer.get_project, "not-a-uuid")[0] == "NotFoundProject"
    assert refused(trainer.get_tag, project.id, UNKNOWN)[0] == "NotFoundTag"
    assert refused(trainer.get_iteration, project.id, UNKNOWN)[0] == "NotFoundIteration"
    assert refused(trainer.create_project, "x", domain_id=UNKNOWN)[0] == "BadRequestProjectUnknownDomain"
    assert refused(trainer.get_domain, UNKNOWN)[0] == "NotFoundDomain"
    code, message = refused(trainer.create_image_tags, project.id, [ImageTagCreateEntry(image_id=UNKNOWN,
                                                                                         tag_id=UNKNOWN)])
    assert code == "NotFoundImage" and UNKNOWN in message
    assert [p.name for p in trainer.get_projects()] == ["records"]


def test_tags(tailor: Tailor) -> None:
    trainer = tailor.trainer()
    project = trainer.create_project("tags")
    trainer.create_tag(project.id, "Hemlock")
    code, message = refused(trainer.create_tag, project.id, "hemlock")
    assert code == "BadRequestTagNameNotUnique" and "hemlock" in message
    assert [t.name for t in trainer.get_tags(project.id)] == ["Hemlock"]


def test_images(tailor: Tailor) -> None:
    trainer = tailor.trainer()
    project = trainer.create_project("images")
    tag = trainer.create_tag(project.id, "t")

    # A 7 MB image, as bytes: refused before anything is stored.
    code, message = refused(trainer.create_images_from_data, project.id, noisy_png(7.0))
    assert code == "BadRequestImageSizeBytes" and "6 MB" in message
    # A text file: the batch answers 207, the image ErrorImageFormat.
    text = trainer.create_images_from_files(project.id, ImageFileCreateBatch(images=[
        ImageFileCreateEntry(name="notes.txt", contents=b"just some words, not an image")]))
    assert not text.is_batch_successful and text.images[0].status == "ErrorImageFormat"
    # One good and one bad: the good one is stored, the bad one says why.
    mixed = trainer.create_images_from_files(project.id, ImageFileCreateBatch(images=[
        ImageFileCreateEntry(name="ok.jpg", contents=jpeg(tree("hemlock", 1)), tag_ids=[tag.id]),
        ImageFileCreateEntry(name="bad.jpg", contents=jpeg(tree("hemlock", 2)), tag_ids=[UNKNOWN])]))
    assert [i.status for i in mixed.images] == ["OK", "ErrorInvalidTag"]
    # A 30,000 x 30,000 px bomb, past Pillow's own guard: a dimension, not a format.
    bomb = trainer.create_images_from_data(project.id, png_header_only(30_000, 30_000))
    assert not bomb.is_batch_successful and bomb.images[0].status == "ErrorImageDimensions"
    # 65 images in one batch: refused whole.
    entries = [ImageFileCreateEntry(name=f"{n}.jpg", contents=jpeg(tree("cherry", n))) for n in range(65)]
    code, message = refused(trainer.create_images_from_files, project.id, ImageFileCreateBatch(images=entries))
    assert code == "BadRequestExceededBatchSize" and "64" in message
    # A region outside the image: refused whole, with where it is.
    code, message = refused(trainer.create_images_from_files, project.id, ImageFileCreateBatch(images=[
        ImageFileCreateEntry(name="r.jpg", contents=jpeg(tree("cherry", 5)),
                             regions=[Region(tag_id=tag.id, left=0.8, top=0.1, width=0.5, height=0.2)])]))
    assert code == "BadRequestImageRegions" and "images[0].regions[0]" in message
    assert trainer.get_image_count(project.id) == 1


@pytest.mark.parametrize(
    ("params", "words"),
    [({"skip": 2**63}, "skip: must be an integer from 0 to 2147483647"), ({"skip": -1}, "from 0 to 2147483647"),
     ({"take": 257}, "take: must be an integer from 0 to 256"), ({"take": "41448187657476569563136"}, "0 to 256")],
)
@pytest.mark.parametrize("listing", ["images", "images/tagged", "images/untagged",
                                     f"iterations/{UNKNOWN}/performance/images"])
def test_skip_and_take_out_of_range_are_bad_requests_naming_the_range(api: Api, listing: str, params: dict,
                                                                      words: str) -> None:
    headers = {"Training-Key": TRAINING_KEY}
    base = "/customvision/v3.3/training/projects"
    project = api.client.post(base, params={"name": "paging"}, headers=headers).json()["id"]
    response = api.client.get(f"{base}/{project}/{listing}", params=params, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "BadRequest" and words in response.json()["message"]


def test_training(tailor: Tailor) -> None:
    trainer = tailor.trainer()
    project = trainer.create_project("training")
    code, message = refused(trainer.train_project, project.id)
    assert code == "BadRequestTrainingValidationFailed" and "no tagged images" in message
    tag = trainer.create_tag(project.id, "lonely")
    trainer.create_images_from_files(project.id, ImageFileCreateBatch(images=[
        ImageFileCreateEntry(name="one.jpg", contents=jpeg(tree("hemlock", 1)), tag_ids=[tag.id])]))
    code, message = refused(trainer.train_project, project.id)
    assert code == "BadRequestClassificationTrainingValidationFailed" and "'lonely' has 1" in message
    assert trainer.get_iterations(project.id) == []


def test_advanced_budget_over_rest(tailor: Tailor) -> None:
    """The SDK sends reservedBudgetInHours as an integer; over REST a fraction of an hour is taken too."""
    trainer = tailor.trainer()
    project = trainer.create_project("advanced")
    refusal = requests.post(f"{tailor.url}/customvision/v3.3/training/projects/{project.id}/train",
                            params={"trainingType": "Advanced", "reservedBudgetInHours": "0"},
                            headers={"Training-Key": TRAINING_KEY}, timeout=30)
    assert refusal.status_code == 400
    assert refusal.json()["code"] == "BadRequestReservedBudgetInHoursNotEnoughForAdvancedTraining"
