"""COCO in the portal: "Export COCO" downloads the project's tagged images, tags and regions (a detector) or tags (a
classifier) as a COCO file that Tailor's own COCO toolkit finds valid."""

from __future__ import annotations

import json
from pathlib import Path

from azure.cognitiveservices.vision.customvision.training.models import (
    ImageFileCreateBatch,
    ImageFileCreateEntry,
    Region,
)
from playwright.sync_api import Page

from tailor.coco import AnnotationKind, CocoSource, validate_coco
from tests.api.customvision.conftest import jpeg, tree
from tests.portal.pages import detection_domain, sign_in


def upload(trainer, project_id: str, entries: list[ImageFileCreateEntry]) -> list[str]:
    summary = trainer.create_images_from_files(project_id, ImageFileCreateBatch(images=entries))
    assert all(i.status == "OK" for i in summary.images), [i.status for i in summary.images]
    return [i.image.id for i in summary.images]


def download(page: Page, url: str, project_id: str, folder: Path) -> dict:
    page.goto(f"{url}/#/projects/{project_id}/images")
    with page.expect_download() as info:
        page.get_by_role("button", name="Export COCO").click()
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return {"name": info.value.suggested_filename, "coco": json.loads(path.read_text())}


def test_export_coco_of_a_detector_and_of_a_classifier(browser_page, portal, tmp_path: Path) -> None:
    trainer = portal.trainer()
    detector = trainer.create_project("Orchard boxes", domain_id=detection_domain(trainer))
    apple, pear = (trainer.create_tag(detector.id, name) for name in ("apple", "pear"))
    boxes = {  # seed: regions as (tag, left, top, width, height)
        1: [(apple, 0.1, 0.1, 0.3, 0.4), (pear, 0.5, 0.5, 0.4, 0.3)],
        2: [(pear, 0.2, 0.25, 0.5, 0.5)],
    }
    detector_images = upload(trainer, detector.id, [
        ImageFileCreateEntry(name=f"tree{seed}.jpg", contents=jpeg(tree("cherry", seed)),
                             regions=[Region(tag_id=t.id, left=x, top=y, width=w, height=h) for t, x, y, w, h in rs])
        for seed, rs in boxes.items()])
    classifier = trainer.create_project("Orchard tags", classification_type="Multilabel")
    hemlock, tall = (trainer.create_tag(classifier.id, name) for name in ("hemlock", "tall"))
    labels = {11: [hemlock], 12: [hemlock, tall]}
    classifier_images = upload(trainer, classifier.id, [
        ImageFileCreateEntry(name=f"tree{seed}.jpg", contents=jpeg(tree("hemlock", seed)), tag_ids=[t.id for t in ts])
        for seed, ts in labels.items()])
    upload(trainer, classifier.id, [ImageFileCreateEntry(name="untagged.jpg", contents=jpeg(tree("hemlock", 13)))])

    def flow(page: Page) -> dict:
        sign_in(page, portal.url)
        return {"detector": download(page, portal.url, detector.id, tmp_path),
                "classifier": download(page, portal.url, classifier.id, tmp_path)}

    drive = browser_page.drive(flow)
    assert drive.problems() == []
    exported = drive.result

    # The detector: a category per tag, an image per tagged image, an annotation per box, in relative coordinates.
    assert exported["detector"]["name"] == "Orchard_boxes-coco.json"
    coco = exported["detector"]["coco"]
    names = {c["id"]: c["name"] for c in coco["categories"]}
    assert sorted(names.values()) == ["apple", "pear"]
    by_image = {i["id"]: i for i in coco["images"]}
    assert sorted(i["absolute_url"].rsplit("/images/", 1)[1].split("/")[0] for i in by_image.values()) == \
        sorted(detector_images)
    assert all(i["absolute_url"].startswith(portal.url) and (i["width"], i["height"]) == (160, 120)
               for i in by_image.values())
    got = sorted((names[a["category_id"]], *(round(v, 4) for v in a["bbox"])) for a in coco["annotations"])
    want = sorted((t.name, x, y, w, h) for rs in boxes.values() for t, x, y, w, h in rs)
    assert got == want
    per_image = {}
    for a in coco["annotations"]:
        per_image.setdefault(a["image_id"], []).append(a)
    assert sorted(len(v) for v in per_image.values()) == [1, 2]
    report = validate_coco([CocoSource("detector.json", json.dumps(coco).encode())], AnnotationKind.DETECTION)
    assert report.errors == []

    # The classifier: an annotation per tag of each tagged image, no bbox; the untagged image is left out.
    coco = exported["classifier"]["coco"]
    names = {c["id"]: c["name"] for c in coco["categories"]}
    assert sorted(names.values()) == ["hemlock", "tall"]
    assert len(coco["images"]) == 2
    tags_of = {}
    for a in coco["annotations"]:
        assert "bbox" not in a
        tags_of.setdefault(a["image_id"], set()).add(names[a["category_id"]])
    assert sorted(map(sorted, tags_of.values())) == [["hemlock"], ["hemlock", "tall"]]
    assert len(classifier_images) == 2
    report = validate_coco([CocoSource("classifier.json", json.dumps(coco).encode())], AnnotationKind.CLASSIFICATION)
    assert report.errors == []
