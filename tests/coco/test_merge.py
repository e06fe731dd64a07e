"""Several files make one dataset: ids scoped per file, categories joined by name, one image per URI."""

from __future__ import annotations

from tailor.coco import AnnotationKind, CocoSource, Purpose, validate_coco

from .builders import classification, detection, encode

C, D = AnnotationKind.CLASSIFICATION, AnnotationKind.DETECTION


def merged(*docs, kind=C, purpose=Purpose.TRAINING):
    return validate_coco([CocoSource(f"f{k}.json", encode(d)) for k, d in enumerate(docs)], kind, purpose)


def test_ids_are_scoped_per_file_and_categories_joined_by_name() -> None:
    a = classification(2, 2)
    b = classification(2, 2)
    for image in b["images"]:
        image["absolute_url"] = image["absolute_url"].replace("img_", "other_")
    b["categories"] = [{"id": 1, "name": "class_2"}, {"id": 2, "name": "class_3"}]  # same ids, other names
    report = merged(a, b)
    assert report.valid, report.errors
    ds = report.dataset
    assert ds.categories == ("class_1", "class_2", "class_3")
    assert ds.num_images == 8
    assert report.dataset.stats()["imagesPerCategory"] == {"class_1": 2, "class_2": 4, "class_3": 2}


def test_the_same_image_uri_in_two_files_is_one_image_with_pooled_annotations() -> None:
    a = detection(2)
    b = detection(2)
    b["categories"] = [{"id": 7, "name": "dog"}, {"id": 8, "name": "bird"}]
    for annotation in b["annotations"]:
        annotation["category_id"] += 6
    report = merged(a, b, kind=D)
    assert report.valid, report.errors
    ds = report.dataset
    assert ds.num_images == 2
    assert ds.annotation_images.size == 8
    assert ds.categories == ("cat", "dog", "bird")
    assert ds.regions_per_image().tolist() == [4, 4]


def test_the_same_file_named_twice_is_read_once() -> None:
    data = encode(classification())
    report = validate_coco([CocoSource("a.json", data), CocoSource("a.json", data)], C, Purpose.TRAINING)
    assert report.dataset.num_images == 4


def test_problems_name_the_file_they_are_in() -> None:
    a = classification()
    b = classification()
    for image in b["images"]:
        image["absolute_url"] += "?b"
    b["images"][1]["width"] = "x"
    report = merged(a, b)
    (problem,) = report.errors
    assert (problem.file, problem.path) == ("f1.json", "images[1].width")


def test_a_file_that_cannot_be_read_does_not_bury_its_problem_under_quota_noise() -> None:
    report = validate_coco(
        [CocoSource("good.json", encode(classification())), CocoSource("bad.json", b"{not json")], C, Purpose.TRAINING
    )
    assert [(p.code.value, p.file) for p in report.errors] == [("invalidJson", "bad.json")]


def test_quota_problems_after_merging_point_into_the_file_that_declared_the_record() -> None:
    a = classification(2, 2)
    b = {
        "images": [{"id": 1, "width": 5, "height": 64, "file_name": "tiny.jpg", "absolute_url": "https://h/tiny.jpg"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 3}],
        "categories": [{"id": 1, "name": "x"}, {"id": 2, "name": "y"}, {"id": 3, "name": "class_1"}],
    }
    report = merged(a, b)
    found = {(p.code.value, p.file, p.path) for p in report.errors}
    assert ("imageTooSmall", "f1.json", "images[0].width") in found
    warnings = {(p.code.value, p.file, p.path) for p in report.warnings}
    assert ("categoryWithoutImages", "f1.json", "categories[0]") in warnings


def test_within_one_file_records_stand_for_themselves() -> None:
    doc = classification(2, 2)
    doc["images"][1]["absolute_url"] = doc["images"][0]["absolute_url"]
    report = merged(doc)
    assert report.valid
    assert report.dataset.num_images == 4
