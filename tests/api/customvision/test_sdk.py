"""Every Training and Prediction call Tailor serves (CUSTOMVISION.md A4 and A6, exports aside), through the
official SDK itself, on SQLite and PostgreSQL, with Tailor's images in a real Azurite container."""

from __future__ import annotations

import io
import os
import time

import pytest
import requests
from azure.cognitiveservices.vision.customvision.prediction.models import CustomVisionErrorException as PredictionError
from azure.cognitiveservices.vision.customvision.training.models import (
    CustomVisionErrorException,
    ImageFileCreateBatch,
    ImageFileCreateEntry,
    ImageIdCreateBatch,
    ImageIdCreateEntry,
    ImageRegionCreateEntry,
    ImageTagCreateEntry,
    ImageUrlCreateBatch,
    ImageUrlCreateEntry,
    PredictionQueryTag,
    PredictionQueryToken,
    Region,
    SuggestedTagAndRegionQueryToken,
)
from PIL import Image

from tests.api.conftest import TRAINING_KEY

from .conftest import Tailor, jpeg, tool_scene, tree

GENERAL = "ee85a74c-405e-4adc-bb47-ffa8ca0c9f31"
GENERAL_DETECTION = "da2e3a8a-40a5-4171-82f4-58522f70fbc1"


def noisy_png(megabytes: float, seed: int = 0) -> bytes:
    """A PNG of random pixels: incompressible, so about `megabytes` large."""
    side = int((megabytes * 1024 * 1024 / 3) ** 0.5)
    pixels = os.urandom(side * side * 3) if seed == 0 else bytes((i * seed) % 251 for i in range(side * side * 3))
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(out, "PNG", compress_level=0)
    return out.getvalue()


def fetch(url: str) -> requests.Response:
    return requests.get(url, headers={"Training-Key": TRAINING_KEY}, timeout=30)


def test_projects_tags_and_domains(tailor_on: Tailor) -> None:
    trainer = tailor_on.trainer()
    domains = trainer.get_domains()
    ids = {(d.type, d.name): d.id for d in domains}
    assert ids[("Classification", "General")] == GENERAL
    assert ids[("ObjectDetection", "General")] == GENERAL_DETECTION
    assert ("Classification", "General (compact)") in ids and ("ObjectDetection", "General (compact)") in ids
    assert trainer.get_domain(GENERAL).type == "Classification"

    project = trainer.create_project("Birds", description="garden birds", classification_type="Multilabel",
                                     target_export_platforms=["ONNX"])
    assert project.settings.domain_id == GENERAL and project.settings.classification_type == "Multilabel"
    assert project.settings.target_export_platforms == ["ONNX"]
    assert [p.id for p in trainer.get_projects()] == [project.id]
    assert trainer.get_project(project.id).name == "Birds"
    project.name, project.description = "Garden birds", "renamed"
    updated = trainer.update_project(project.id, project)
    assert (updated.name, updated.description) == ("Garden birds", "renamed")

    robin = trainer.create_tag(project.id, "robin", description="red breast")
    wren = trainer.create_tag(project.id, "wren", type="Regular")
    assert {t.name for t in trainer.get_tags(project.id)} == {"robin", "wren"}
    assert trainer.get_tag(project.id, robin.id).description == "red breast"
    robin.name = "European robin"
    assert trainer.update_tag(project.id, robin.id, robin).name == "European robin"
    trainer.delete_tag(project.id, wren.id)
    assert [t.name for t in trainer.get_tags(project.id)] == ["European robin"]

    trainer.delete_project(project.id)
    assert trainer.get_projects() == []
    with pytest.raises(CustomVisionErrorException) as missing:
        trainer.get_project(project.id)
    assert missing.value.error.code == "NotFoundProject"


def test_images_tags_and_regions(tailor_on: Tailor, azurite) -> None:
    trainer = tailor_on.trainer()
    project = trainer.create_project("Tools", domain_id=GENERAL_DETECTION)
    fork = trainer.create_tag(project.id, "fork")
    ring = trainer.create_tag(project.id, "ring")

    # Bytes over 1 MB through multipart (the SDK's bytes form: a part without filename), byte for byte.
    big = noisy_png(1.5)
    assert len(big) > 1024 * 1024
    summary = trainer.create_images_from_data(project.id, big, tag_ids=[fork.id])
    assert summary.is_batch_successful and summary.images[0].status == "OK"
    big_image = summary.images[0].image
    assert fetch(big_image.original_image_uri).content == big
    thumbnail = Image.open(io.BytesIO(fetch(big_image.thumbnail_uri).content))
    assert max(thumbnail.size) <= 200
    assert Image.open(io.BytesIO(fetch(big_image.resized_image_uri).content)).size[0] <= 1024
    # The same bytes again (as a file object this time): stored once.
    again = trainer.create_images_from_data(project.id, io.BytesIO(big))
    assert again.images[0].status == "OKDuplicate" and again.images[0].image.id == big_image.id

    scene, box = tool_scene("fork", seed=1)
    files = trainer.create_images_from_files(project.id, ImageFileCreateBatch(images=[
        ImageFileCreateEntry(name="fork.jpg", contents=jpeg(scene),
                             regions=[Region(tag_id=fork.id, left=box[0], top=box[1], width=box[2], height=box[3])]),
        ImageFileCreateEntry(name="plain.jpg", contents=jpeg(tree("cherry", 3))),
    ]))
    assert [i.status for i in files.images] == ["OK", "OK"]
    boxed, plain = files.images[0].image, files.images[1].image
    assert boxed.regions[0].tag_id == fork.id and boxed.width == 160 and boxed.height == 120

    azurite.container("pictures", public=True)
    url = azurite.upload("pictures", "ring.jpg", jpeg(tool_scene("scissors", seed=2)[0]))
    urls = trainer.create_images_from_urls(project.id, ImageUrlCreateBatch(images=[
        ImageUrlCreateEntry(url=url, tag_ids=[ring.id])]))
    assert urls.is_batch_successful and urls.images[0].source_url == url
    from_url = urls.images[0].image

    assert trainer.get_image_count(project.id) == 4
    assert trainer.get_tagged_image_count(project.id) == 3
    assert trainer.get_untagged_image_count(project.id) == 1
    assert [i.id for i in trainer.get_untagged_images(project.id)] == [plain.id]
    newest = [i.id for i in trainer.get_images(project.id)]
    assert newest[0] == from_url.id and len(newest) == 4
    assert [i.id for i in trainer.get_images(project.id, order_by="Oldest", take=1)] == [big_image.id]
    assert [i.id for i in trainer.get_tagged_images(project.id, tag_ids=[ring.id])] == [from_url.id]
    assert {i.id for i in trainer.get_images_by_ids(project.id, image_ids=[plain.id, boxed.id])} == {plain.id, boxed.id}
    assert trainer.get_tagged_image_count(project.id, tag_ids=[fork.id]) == 2

    tags = trainer.create_image_tags(project.id, [
        ImageTagCreateEntry(image_id=plain.id, tag_id=ring.id), ImageTagCreateEntry(image_id=from_url.id,
                                                                                    tag_id=ring.id)])
    assert [(t.image_id, t.tag_id) for t in tags.created] == [(plain.id, ring.id)]
    assert [t.image_id for t in tags.duplicated] == [from_url.id]
    trainer.delete_image_tags(project.id, [plain.id], [ring.id])
    assert trainer.get_untagged_image_count(project.id) == 1

    made = trainer.create_image_regions(project.id, [
        ImageRegionCreateEntry(image_id=plain.id, tag_id=ring.id, left=0.1, top=0.2, width=0.3, height=0.4)])
    region = made.created[0]
    assert (region.image_id, region.tag_name, region.left) == (plain.id, "ring", 0.1)
    assert trainer.get_images_by_ids(project.id, image_ids=[plain.id])[0].regions[0].region_id == region.region_id
    trainer.delete_image_regions(project.id, [region.region_id])
    assert not trainer.get_images_by_ids(project.id, image_ids=[plain.id])[0].regions

    trainer.delete_images(project.id, image_ids=[plain.id])
    assert trainer.get_image_count(project.id) == 3
    assert fetch(plain.original_image_uri).status_code == 404
    trainer.delete_images(project.id, all_images=True)
    assert trainer.get_image_count(project.id) == 0
    assert fetch(big_image.original_image_uri).status_code == 404


def test_train_evaluate_publish_and_predict(tailor_on: Tailor, azurite) -> None:
    trainer, predictor = tailor_on.trainer(), tailor_on.predictor()
    project = trainer.create_project("Trees")
    hemlock = trainer.create_tag(project.id, "hemlock")
    cherry = trainer.create_tag(project.id, "cherry")
    entries = [ImageFileCreateEntry(name=f"{kind}_{n}.jpg", contents=jpeg(tree(kind, n)), tag_ids=[tag.id])
               for kind, tag in (("hemlock", hemlock), ("cherry", cherry)) for n in range(8)]
    assert trainer.create_images_from_files(project.id, ImageFileCreateBatch(images=entries)).is_batch_successful

    iteration = trainer.train_project(project.id)
    assert iteration.reserved_budget_in_hours == 0 and iteration.training_type == "Regular"
    deadline = time.monotonic() + 600
    while iteration.status == "Training" and time.monotonic() < deadline:
        time.sleep(1)
        iteration = trainer.get_iteration(project.id, iteration.id)
    assert iteration.status == "Completed", iteration.training_error_details
    assert [i.id for i in trainer.get_iterations(project.id)] == [iteration.id]
    assert trainer.update_iteration(project.id, iteration.id, "first").name == "first"

    with pytest.raises(CustomVisionErrorException) as not_needed:
        trainer.train_project(project.id)
    assert not_needed.value.error.code == "BadRequestTrainingNotNeeded"

    performance = trainer.get_iteration_performance(project.id, iteration.id, threshold=0.5)
    assert {t.name for t in performance.per_tag_performance} == {"hemlock", "cherry"}
    assert {t.id for t in performance.per_tag_performance} == {hemlock.id, cherry.id}
    assert 0 <= performance.precision <= 1 and 0 <= performance.recall <= 1
    assert performance.average_precision is not None and performance.average_precision > 0.5
    strict = trainer.get_iteration_performance(project.id, iteration.id, threshold=0.999)
    assert strict.recall <= performance.recall

    held_out = trainer.get_image_performances(project.id, iteration.id)
    assert held_out and len(held_out) == trainer.get_image_performance_count(project.id, iteration.id) <= 16
    assert {p.tag_name for p in held_out[0].predictions} == {"hemlock", "cherry"}
    assert held_out[0].thumbnail_uri.endswith("/thumbnail") and fetch(held_out[0].image_uri).status_code == 200
    only_cherry = trainer.get_image_performances(project.id, iteration.id, tag_ids=[cherry.id])
    assert all(cherry.id in {t.tag_id for t in p.tags} for p in only_cherry)

    # The Smart Labeler on images not tagged yet: a sure one and one the model can hardly call.
    sure = trainer.create_images_from_data(project.id, jpeg(tree("hemlock", 50))).images[0].image
    odd = trainer.create_images_from_data(project.id, jpeg(Image.new("RGB", (160, 120), (128, 128, 128))))
    odd = odd.images[0].image
    suggested = trainer.suggest_tags_and_regions(project.id, iteration.id, [sure.id, odd.id])
    assert [s.id for s in suggested] == [sure.id, odd.id]
    assert suggested[0].predictions[0].tag_name == "hemlock"
    assert 0 <= suggested[0].prediction_uncertainty <= 0.5
    queried = trainer.query_suggested_images(
        project.id, iteration.id, SuggestedTagAndRegionQueryToken(max_count=1, sort_by="UncertaintyAscending"))
    assert [r.id for r in queried.results] == [min(suggested, key=lambda s: s.prediction_uncertainty).id]
    assert queried.token.continuation == "1" and queried.results[0].thumbnail_uri
    rest = trainer.query_suggested_images(project.id, iteration.id, SuggestedTagAndRegionQueryToken(
        max_count=1, sort_by="UncertaintyAscending", continuation=queried.token.continuation))
    assert len(rest.results) == 1 and rest.token.continuation is None
    counts = trainer.query_suggested_image_count(project.id, iteration.id, tag_ids=[hemlock.id], threshold=0.5)
    assert counts[hemlock.id] >= 1

    test = jpeg(tree("cherry", 77))
    quick = trainer.quick_test_image(project.id, test, iteration_id=iteration.id)
    assert quick.predictions[0].tag_name == "cherry" and quick.iteration == iteration.id
    azurite.container("tests", public=True)
    url = azurite.upload("tests", "cherry.jpg", test)
    assert trainer.quick_test_image_url(project.id, url=url).predictions[0].tag_name == "cherry"

    with pytest.raises(PredictionError) as unpublished:
        predictor.classify_image(project.id, "trees", test)
    assert unpublished.value.error.code == "BadRequestIterationNotPublished"
    trainer.publish_iteration(project.id, iteration.id, "trees", "resource-id")
    for call in (predictor.classify_image, predictor.classify_image_with_no_store):
        answer = call(project.id, "trees", test)
        assert answer.predictions[0].tag_name == "cherry" and answer.predictions[0].tag_id == cherry.id
    for call in (predictor.classify_image_url, predictor.classify_image_url_with_no_store):
        assert call(project.id, "trees", url=url).predictions[0].tag_name == "cherry"

    # Kept: the two quick tests and the two predictions that were not `nostore`, newest first.
    kept = trainer.query_predictions(project.id, PredictionQueryToken(order_by="Newest"))
    assert len(kept.results) == 4 and kept.token.continuation is None
    newest = kept.results[0]
    assert newest.iteration == iteration.id and newest.predictions[0].tag_name == "cherry"
    assert fetch(newest.original_image_uri).content == test and fetch(newest.thumbnail_uri).status_code == 200
    sure = trainer.query_predictions(project.id, PredictionQueryToken(
        tags=[PredictionQueryTag(id=cherry.id, min_threshold=0.5)], max_count=2))
    assert len(sure.results) == 2 and sure.token.continuation == "2"
    moved = trainer.create_images_from_predictions(project.id, ImageIdCreateBatch(images=[
        ImageIdCreateEntry(id=newest.id, tag_ids=[cherry.id])]))
    assert moved.is_batch_successful and moved.images[0].image.tags[0].tag_id == cherry.id
    trainer.delete_prediction(project.id, [newest.id])
    assert len(trainer.query_predictions(project.id, PredictionQueryToken()).results) == 3
    assert fetch(newest.original_image_uri).status_code == 404

    # The same model on the Image Analysis face.
    model_name = f"cv-{iteration.id}"
    listed = requests.get(f"{tailor_on.url}/computervision/models", params={"api-version": "2023-04-01-preview"},
                          headers={"Ocp-Apim-Subscription-Key": TRAINING_KEY}, timeout=30).json()
    assert model_name in [m["name"] for m in listed["value"]]
    refused = requests.delete(f"{tailor_on.url}/computervision/models/{model_name}",
                              params={"api-version": "2023-04-01-preview"},
                              headers={"Ocp-Apim-Subscription-Key": TRAINING_KEY}, timeout=30)
    assert refused.status_code == 409 and "delete_iteration" in refused.json()["error"]["message"]
    analyzed = requests.post(f"{tailor_on.url}/computervision/imageanalysis:analyze",
                             params={"api-version": "2023-04-01-preview", "model-name": model_name},
                             headers={"Ocp-Apim-Subscription-Key": TRAINING_KEY, "Content-Type": "image/jpeg"},
                             data=test, timeout=30).json()
    assert analyzed["customModelResult"]["tagsResult"]["values"][0]["name"] == "cherry"

    with pytest.raises(CustomVisionErrorException) as published:
        trainer.delete_iteration(project.id, iteration.id)
    assert published.value.error.code == "BadRequestIterationIsPublished"
    trainer.unpublish_iteration(project.id, iteration.id)
    with pytest.raises(PredictionError):
        predictor.classify_image(project.id, "trees", test)
    trainer.delete_iteration(project.id, iteration.id)
    assert trainer.get_iterations(project.id) == []
    gone = requests.get(f"{tailor_on.url}/computervision/models/{model_name}",
                        params={"api-version": "2023-04-01-preview"},
                        headers={"Ocp-Apim-Subscription-Key": TRAINING_KEY}, timeout=30)
    assert gone.status_code == 404
