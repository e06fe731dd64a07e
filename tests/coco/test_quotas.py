"""The quota table of API.md, for both kinds and both purposes."""

from __future__ import annotations

import time

import pytest

from tailor.coco import AnnotationKind, CocoSource, Purpose, check_quotas, quota_for, validate_coco

from .builders import check, classification, detection, encode, errors, mutated

C, D = AnnotationKind.CLASSIFICATION, AnnotationKind.DETECTION
T, E = Purpose.TRAINING, Purpose.EVALUATION


@pytest.mark.parametrize(
    ("kind", "purpose", "per_category", "max_images", "categories", "sides"),
    [
        (C, T, 2, 1_000_000, (2, 2500), (10, 10_240)),
        (C, E, 1, 100_000, (2, 2500), (50, 16_000)),
        (D, T, 1, 200_000, (1, 2000), (10, 10_240)),
        (D, E, 1, 100_000, (1, 2000), (50, 16_000)),
    ],
)
def test_quota_table(kind, purpose, per_category, max_images, categories, sides) -> None:
    quota = quota_for(kind, purpose)
    assert quota.min_images_per_category == per_category
    assert quota.max_images == max_images
    assert (quota.min_categories, quota.max_categories) == categories
    assert (quota.min_image_side, quota.max_image_side) == sides
    assert quota.max_regions_per_image == (1000 if kind is D else None)


def test_classifier_training_needs_two_images_per_category_evaluation_one() -> None:
    doc = classification(2, 2)
    doc["annotations"][0]["category_id"] = 2  # class_1 now has one image
    report = check(doc, C, T)
    assert errors(report) == {("tooFewImagesPerCategory", "categories[0]")}
    assert "'class_1' has 1 image" in report.errors[0].message
    assert check(doc, C, E).valid


def test_quotas_are_skipped_when_purpose_is_not_given() -> None:
    doc = classification(2, 1)
    assert not check(doc, C, T).valid
    assert check(doc, C, None).valid


def test_classifier_needs_two_categories_detector_one() -> None:
    doc = classification(1, 3)
    assert ("tooFewCategories", "categories") in errors(check(doc, C, T))
    det = detection()
    det["categories"] = det["categories"][:1]
    det["annotations"] = [a for a in det["annotations"] if a["category_id"] == 1]
    assert check(det, D, T).valid


def test_too_many_categories() -> None:
    doc = classification(2, 2)
    doc["categories"] += [{"id": 10 + k, "name": f"extra_{k}"} for k in range(2499)]
    report = check(doc, C, T)
    assert ("tooManyCategories", "categories") in errors(report)
    assert "2,501 categories" in next(p.message for p in report.errors if p.code.value == "tooManyCategories")


def test_a_file_with_more_categories_than_its_kind_allows_is_refused_whatever_the_purpose() -> None:
    # A million categories: refused from the length of the list, before a record is checked (the broken image
    # below is never looked at), in well under the 8 s that checking and merging them all took.
    doc = classification(2, 2)
    doc["categories"] = [{"id": k, "name": f"c{k}"} for k in range(1, 1_000_001)]
    doc["images"][0]["width"] = "wide"
    data = encode(doc)
    for kind in (C, D):
        started = time.perf_counter()
        report = check(data, kind, None)
        assert time.perf_counter() - started < 4
        assert errors(report) == {("tooManyCategories", "categories")}
        assert report.errors[0].message.startswith("1,000,000 categories;") and report.errors[0].file == "train.json"


@pytest.mark.parametrize(("kind", "limit"), [(C, 2500), (D, 2000)])
def test_the_category_limit_without_a_purpose_is_the_kinds_largest(kind, limit) -> None:
    doc = classification(2, 2) if kind is C else detection()
    doc["categories"] += [{"id": 100 + k, "name": f"extra_{k}"} for k in range(limit - 2)]
    assert check(doc, kind, None).valid
    doc["categories"].append({"id": 99, "name": "one too many"})
    assert errors(check(doc, kind, None)) == {("tooManyCategories", "categories")}


def test_files_each_within_the_category_limit_may_not_join_past_it() -> None:
    files = []
    for f in range(2):
        doc = classification(2, 2)
        doc["categories"] += [{"id": 10 + k, "name": f"file{f}_{k}"} for k in range(1500)]
        for image in doc["images"]:
            image["absolute_url"] = f"https://h/{f}/{image['file_name']}"
        files.append(CocoSource(f"{f}.json", encode(doc)))
    assert validate_coco(files[:1], C).valid
    report = validate_coco(files, C)
    assert errors(report) == {("tooManyCategories", "categories")} and "3,002 categories" in report.errors[0].message


def test_empty_dataset_has_too_few_images() -> None:
    doc = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "a"}]}
    assert ("tooFewImages", "images") in errors(check(doc, D, T))


def test_too_many_images_for_evaluation() -> None:
    n = 100_001
    doc = {
        "images": [
            {"id": i, "width": 60, "height": 60, "file_name": f"{i}.jpg", "absolute_url": f"https://h/{i}.jpg"}
            for i in range(1, n + 1)
        ],
        "annotations": [{"id": i, "image_id": i, "category_id": 1 + i % 2} for i in range(1, n + 1)],
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
    }
    report = check(doc, C, E)
    assert errors(report) == {("tooManyImages", "images")}
    assert check(doc, C, T).valid


def test_at_most_1000_regions_per_image() -> None:
    doc = detection(2)
    doc["annotations"] = [
        {"id": k, "image_id": 1, "category_id": 1, "bbox": [0.1, 0.1, 0.1, 0.1]} for k in range(1, 1002)
    ] + [{"id": 5000, "image_id": 2, "category_id": 2, "bbox": [0.1, 0.1, 0.1, 0.1]}]
    report = check(doc, D, T)
    assert errors(report) == {("tooManyRegions", "images[0]")}
    assert "1,001 regions" in report.errors[0].message


@pytest.mark.parametrize(
    ("side", "purpose", "code"),
    [(9, T, "imageTooSmall"), (10, T, None), (49, E, "imageTooSmall"), (50, E, None),
     (10_240, T, None), (10_241, T, "imageTooLarge"), (16_000, E, None), (16_001, E, "imageTooLarge")],
)
def test_declared_image_sides_are_bounded_by_purpose(side: int, purpose: Purpose, code: str | None) -> None:
    doc = mutated(classification(2, 2), "images", 1, height=side)
    found = errors(check(doc, C, purpose))
    assert found == ({(code, "images[1].height")} if code else set())


def test_check_quotas_can_run_later_on_the_registered_dataset() -> None:
    report = validate_coco([CocoSource("a.json", encode(classification(2, 1)))], C)
    assert report.valid
    problems = check_quotas(report.dataset, T)
    assert {p.code.value for p in problems} == {"tooFewImagesPerCategory"}
    assert {p.file for p in problems} == {"a.json"}
