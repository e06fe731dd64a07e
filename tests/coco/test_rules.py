"""One or more tests per rule of the field reference: each breaks one thing and expects exactly that reported."""

from __future__ import annotations

import pytest

from tailor.coco import AnnotationKind, ProblemCode

from .builders import check, classification, detection, errors, mutated, warnings

C, D = AnnotationKind.CLASSIFICATION, AnnotationKind.DETECTION


def test_valid_classification_and_detection_have_no_problems() -> None:
    for doc, kind in ((classification(), C), (detection(), D)):
        report = check(doc, kind)
        assert report.valid, report.errors
        assert report.warnings == []


# (section, index, changes, expected code, expected path)
FIELD_CASES = [
    ("images", 1, {"id": ...}, "missingField", "images[1].id"),
    ("images", 1, {"id": None}, "missingField", "images[1].id"),
    ("images", 1, {"id": "2"}, "wrongType", "images[1].id"),
    ("images", 1, {"id": 2.0}, "wrongType", "images[1].id"),
    ("images", 1, {"id": True}, "wrongType", "images[1].id"),
    ("images", 1, {"id": 0}, "invalidId", "images[1].id"),
    ("images", 1, {"id": -5}, "invalidId", "images[1].id"),
    ("images", 1, {"id": 10**30}, "invalidId", "images[1].id"),
    ("images", 1, {"id": 1}, "duplicateId", "images[1].id"),
    ("images", 2, {"width": ...}, "missingField", "images[2].width"),
    ("images", 2, {"width": "64"}, "wrongType", "images[2].width"),
    ("images", 2, {"width": 64.5}, "wrongType", "images[2].width"),
    ("images", 2, {"height": 0}, "invalidDimension", "images[2].height"),
    ("images", 2, {"height": -64}, "invalidDimension", "images[2].height"),
    ("images", 0, {"file_name": ...}, "missingField", "images[0].file_name"),
    ("images", 0, {"file_name": 7}, "wrongType", "images[0].file_name"),
    ("images", 0, {"file_name": ""}, "emptyName", "images[0].file_name"),
    ("images", 3, {"file_name": "img_1.jpg"}, "duplicateFileName", "images[3].file_name"),
    ("images", 0, {"absolute_url": ...}, "missingField", "images[0].absolute_url"),
    ("images", 0, {"absolute_url": 12}, "wrongType", "images[0].absolute_url"),
    ("images", 0, {"absolute_url": "ftp://host/x.jpg"}, "invalidUrl", "images[0].absolute_url"),
    ("images", 0, {"absolute_url": "   "}, "invalidUrl", "images[0].absolute_url"),
    ("images", 0, {"absolute_url": "pics/a.jpg"}, "invalidUrl", "images[0].absolute_url"),  # no base to resolve
    ("annotations", 0, {"id": ...}, "missingField", "annotations[0].id"),
    ("annotations", 0, {"id": "x"}, "wrongType", "annotations[0].id"),
    ("annotations", 1, {"id": 1}, "duplicateId", "annotations[1].id"),
    ("annotations", 0, {"image_id": ...}, "missingField", "annotations[0].image_id"),
    ("annotations", 0, {"image_id": 999}, "unknownImage", "annotations[0].image_id"),
    ("annotations", 0, {"image_id": 0}, "unknownImage", "annotations[0].image_id"),
    ("annotations", 0, {"category_id": 77}, "unknownCategory", "annotations[0].category_id"),
    ("annotations", 0, {"category_id": [1]}, "wrongType", "annotations[0].category_id"),
    ("annotations", 0, {"area": -1}, "invalidArea", "annotations[0].area"),
    ("annotations", 0, {"area": "big"}, "invalidArea", "annotations[0].area"),
    ("categories", 0, {"id": ...}, "missingField", "categories[0].id"),
    ("categories", 0, {"id": -1}, "invalidId", "categories[0].id"),
    ("categories", 1, {"id": 1}, "duplicateId", "categories[1].id"),
    ("categories", 0, {"name": ...}, "missingField", "categories[0].name"),
    ("categories", 0, {"name": 3}, "wrongType", "categories[0].name"),
    ("categories", 0, {"name": "  "}, "emptyName", "categories[0].name"),
]


@pytest.mark.parametrize(("section", "index", "changes", "code", "path"), FIELD_CASES)
def test_field_rules(section: str, index: int, changes: dict, code: str, path: str) -> None:
    report = check(mutated(classification(), section, index, **changes))
    assert (code, path) in errors(report)
    found = [p for p in report.errors if p.path == path]
    assert all(p.file == "train.json" and p.message for p in found)


def test_coco_url_is_accepted_instead_of_absolute_url() -> None:
    doc = mutated(classification(), "images", 0, absolute_url=..., coco_url="https://h/x.jpg")
    report = check(doc)
    assert report.valid
    assert "https://h/x.jpg" in report.dataset.image_urls


def test_relative_image_reference_resolves_against_the_annotation_file() -> None:
    doc = mutated(classification(), "images", 0, absolute_url="pics/a b.jpg")
    report = check(doc, base_uri="https://acct.blob.core.windows.net/data/sets/train.json")
    assert report.valid
    assert report.dataset.image_urls[0] == "https://acct.blob.core.windows.net/data/sets/pics/a b.jpg"


def test_tailor_uris_only_in_files_tailor_stored() -> None:
    # tailor:// names Tailor's own storage: a training snapshot it wrote may use it, a user's file may not.
    own = "tailor://projects/p/iterations/i/train.json"
    doc = mutated(classification(), "images", 0, absolute_url="tailor://projects/p/images/a.jpg")
    doc = mutated(doc, "images", 1, absolute_url="../../images/b c.jpg")
    report = check(doc, base_uri=own)
    assert report.valid, report.errors
    assert report.dataset.image_urls[:2] == ["tailor://projects/p/images/a.jpg", "tailor://projects/p/images/b c.jpg"]
    for base in (None, "https://acct.blob.core.windows.net/data/train.json", "file:///data/train.json"):
        doc = mutated(classification(), "images", 0, absolute_url="tailor://projects/p/images/a.jpg")
        found = check(doc, purpose=None, base_uri=base)
        assert errors(found) == {("invalidUrl", "images[0].absolute_url")}
        assert "Tailor's own storage" in found.errors[0].message
    # A reference in a tailor:// file that names another host stays unresolved, never a local path.
    found = check(mutated(classification(), "images", 0, absolute_url="//host/a.jpg"), purpose=None, base_uri=own)
    assert errors(found) == {("invalidUrl", "images[0].absolute_url")}


def test_ids_need_not_be_contiguous_nor_at_most_the_list_length() -> None:
    doc = classification()
    for image, annotation in zip(doc["images"], doc["annotations"]):
        image["id"] += 1000
        annotation["image_id"] += 1000
        annotation["id"] += 5000
    doc["categories"][1]["id"] = 40
    for annotation in doc["annotations"]:
        if annotation["category_id"] == 2:
            annotation["category_id"] = 40
    assert check(doc).valid


def test_extra_fields_are_ignored() -> None:
    doc = classification()
    doc["info"] = {"year": 2024}
    doc["licenses"] = [{"id": 1}]
    doc["images"][0]["date_captured"] = "2024-01-01"
    doc["annotations"][0]["segmentation"] = [[1, 2, 3, 4]]
    assert check(doc).valid


def test_duplicate_id_names_the_first_record_with_that_id() -> None:
    report = check(mutated(classification(), "images", 3, id=2))
    (problem,) = [p for p in report.errors if p.code is ProblemCode.DUPLICATE_ID]
    assert problem.path == "images[3].id"
    assert "images[1]" in problem.message


def test_every_problem_of_a_record_is_reported_not_only_the_first() -> None:
    doc = mutated(classification(), "images", 0, id="one", width=-1, file_name=None, absolute_url=5)
    found = errors(check(doc))
    assert {
        ("wrongType", "images[0].id"),
        ("invalidDimension", "images[0].width"),
        ("missingField", "images[0].file_name"),
        ("wrongType", "images[0].absolute_url"),
    } <= found


def test_annotations_of_a_broken_image_are_not_reported_again() -> None:
    doc = mutated(classification(3, 3), "images", 0, width="wide")
    report = check(doc)
    assert errors(report) == {("wrongType", "images[0].width")}


@pytest.mark.parametrize(
    ("bbox", "code", "fragment"),
    [
        (..., "missingField", "required for object detection"),
        (None, "missingField", "required"),
        ([0.1, 0.1, 0.2], "invalidBbox", "4 numbers"),
        ([0.1, 0.1, 0.2, "0.2"], "invalidBbox", "4 numbers"),
        ([0.1, 0.1, 0.2, True], "invalidBbox", "4 numbers"),
        ({"x": 1}, "invalidBbox", "4 numbers"),
        ([-0.1, 0.1, 0.2, 0.2], "bboxOutOfRange", "left must be in [0, 1)"),
        ([1.0, 0.1, 0.0, 0.2], "bboxOutOfRange", "left must be in [0, 1)"),
        ([0.1, 1.2, 0.2, 0.2], "bboxOutOfRange", "top must be in [0, 1)"),
        ([0.1, 0.1, 0.0, 0.2], "bboxOutOfRange", "width must be in (0, 1]"),
        ([0.1, 0.1, 0.2, -0.2], "bboxOutOfRange", "height must be in (0, 1]"),
        ([0.5, 0.1, 0.6, 0.2], "bboxOutOfRange", "left + width must be at most 1"),
        ([0.1, 0.9, 0.2, 0.2], "bboxOutOfRange", "top + height must be at most 1"),
        ([10, 20, 30, 40], "bboxOutOfRange", "width must be in (0, 1]"),  # absolute pixels, not relative
    ],
)
def test_bbox_rules(bbox: object, code: str, fragment: str) -> None:
    report = check(mutated(detection(), "annotations", 2, bbox=bbox), D)
    (problem,) = report.errors
    assert (problem.code.value, problem.path) == (code, "annotations[2].bbox")
    assert fragment in problem.message


def test_bbox_touching_the_far_edges_is_valid_within_rounding() -> None:
    x, w = 0.1, 0.9  # 0.1 + 0.9 rounds to 1.0000000000000002 in some orders
    doc = mutated(detection(), "annotations", 0, bbox=[x, 1 / 3, w, 2 / 3])
    assert check(doc, D).valid


def test_bbox_is_not_required_for_classification() -> None:
    assert check(classification(), C).valid
    doc = mutated(classification(), "annotations", 0, bbox=[5, 5, 5, 5])
    assert check(doc, C).valid


def test_warnings_are_kept_apart_from_errors() -> None:
    doc = classification(3, 2)
    doc["categories"].append({"id": 4, "name": "class_1"})  # duplicate name, and no images
    doc["images"].append({"id": 99, "width": 64, "height": 64, "file_name": "lonely.jpg", "absolute_url": "https://h/l.jpg"})
    report = check(doc)
    assert report.valid
    assert warnings(report) == {
        ("duplicateCategoryName", "categories[3].name"),
        ("categoryWithoutImages", "categories[3]"),  # a second class named class_1, with no images of its own
        ("imageWithoutAnnotations", "images[6]"),
    }


def test_category_without_images_is_a_warning() -> None:
    doc = classification(2, 2)
    doc["categories"].append({"id": 3, "name": "unused"})
    report = check(doc)
    assert report.valid
    assert ("categoryWithoutImages", "categories[2]") in warnings(report)


def test_class_imbalance_worse_than_one_to_ten_is_a_warning() -> None:
    doc = classification(2, 2)
    extra = classification(1, 22)
    for image, annotation in zip(extra["images"], extra["annotations"]):
        image["id"] += 100
        image["file_name"] = "x" + image["file_name"]
        image["absolute_url"] += "?x"
        annotation["id"] += 100
        annotation["image_id"] += 100
        doc["images"].append(image)
        doc["annotations"].append(annotation)
    report = check(doc)
    assert report.valid
    imbalance = [p for p in report.warnings if p.code is ProblemCode.CLASS_IMBALANCE]
    assert len(imbalance) == 1 and "'class_1' has 24 images" in imbalance[0].message
    assert not [p for p in check(classification(2, 10)).warnings if p.code is ProblemCode.CLASS_IMBALANCE]


def test_multilabel_classification_is_detected_not_refused() -> None:
    doc = classification(2, 2)
    doc["annotations"].append({"id": 50, "image_id": 1, "category_id": 2})
    report = check(doc)
    assert report.valid
    assert report.multilabel
    assert report.to_dict()["multilabel"] is True
    assert not check(classification()).multilabel


def test_detection_is_never_multilabel() -> None:
    assert not check(detection(), D).multilabel


def test_report_dict_has_the_documented_shape() -> None:
    out = check(mutated(classification(), "images", 0, width="x")).to_dict()
    assert set(out) >= {"valid", "kind", "multilabel", "stats", "errors", "warnings"}
    assert out["valid"] is False and out["kind"] == "classification"
    assert out["errors"][0] == {
        "code": "wrongType",
        "path": "images[0].width",
        "message": out["errors"][0]["message"],
        "file": "train.json",
    }
    assert out["stats"] == {"images": 3, "categories": 2, "annotations": 3, "imagesPerCategory": {"class_1": 1, "class_2": 2}}
