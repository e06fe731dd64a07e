"""Parity with the official sample checker (`check_coco_annotation_file`, PyPI package
cognitive-service-vision-model-customization-python-samples): what it rejects Tailor rejects, what it accepts
Tailor accepts, except where API.md says otherwise. Each departure is listed, with the reason, in DEPARTURES.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os

import pytest

os.environ.setdefault("TQDM_DISABLE", "1")
from cognitive_service_vision_model_customization_python_samples import (
    AnnotationKind as SampleKind,
    Purpose as SamplePurpose,
    check_coco_annotation_file,
)

from tailor.coco import AnnotationKind, Purpose

from .builders import check, classification, detection, mutated

C, D = AnnotationKind.CLASSIFICATION, AnnotationKind.DETECTION
T, E = Purpose.TRAINING, Purpose.EVALUATION
SAMPLE_KIND = {C: SampleKind.MULTICLASS_CLASSIFICATION, D: SampleKind.OBJECT_DETECTION}
SAMPLE_PURPOSE = {T: SamplePurpose.TRAINING, E: SamplePurpose.EVALUATION}


def checker_accepts(doc, kind, purpose) -> bool:
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            check_coco_annotation_file(copy.deepcopy(doc), SAMPLE_KIND[kind], SAMPLE_PURPOSE[purpose])
        except (ValueError, KeyError, TypeError):
            return False
    return True


def renumbered(doc):
    doc = copy.deepcopy(doc)
    for image in doc["images"]:
        image["id"] += 100
    for annotation in doc["annotations"]:
        annotation["image_id"] += 100
    return doc


def with_categories(n):
    doc = classification(2, 2)
    doc["categories"] += [{"id": k, "name": f"extra_{k}"} for k in range(3, n + 1)]
    return doc


CASES = {
    # name: (document, kind, purpose)
    "ic train valid": (classification(2, 2), C, T),
    "ic eval valid": (classification(2, 1), C, E),
    "od train valid": (detection(3), D, T),
    "od eval valid": (detection(3), D, E),
    "ic eval image too small": (mutated(classification(2, 1, side=64), "images", 0, width=10), C, E),
    "ic train too few images per category": (mutated(classification(2, 2), "annotations", 0, category_id=2), C, T),
    "od train bbox overflows": (mutated(detection(), "annotations", 0, bbox=[0.5, 0.1, 0.6, 0.2]), D, T),
    "od bbox of 3 numbers": (mutated(detection(), "annotations", 0, bbox=[0.5, 0.1, 0.2]), D, T),
    "od bbox missing": (mutated(detection(), "annotations", 0, bbox=...), D, T),
    "od negative width": (mutated(detection(), "annotations", 0, bbox=[0.5, 0.1, -0.1, 0.2]), D, T),
    "image id missing": (mutated(classification(), "images", 0, id=...), C, T),
    "image width missing": (mutated(classification(), "images", 0, width=...), C, T),
    "image file_name missing": (mutated(classification(), "images", 0, file_name=...), C, T),
    "image without url": (mutated(classification(), "images", 0, absolute_url=...), C, T),
    "image with coco_url only": (mutated(classification(), "images", 0, absolute_url=..., coco_url="https://h/a.jpg"), C, T),
    "image id zero": (mutated(classification(), "images", 0, id=0), C, T),
    "image id a string": (mutated(classification(), "images", 0, id="1"), C, T),
    "duplicate image ids": (mutated(classification(), "images", 1, id=1), C, T),
    "duplicate category ids": (mutated(classification(), "categories", 1, id=1), C, T),
    "duplicate annotation ids": (mutated(classification(), "annotations", 1, id=1), C, T),
    "unknown category": (mutated(classification(), "annotations", 0, category_id=7), C, T),
    "annotation image_id zero": (mutated(classification(), "annotations", 0, image_id=0), C, T),
    "image taller than training allows": (mutated(classification(), "images", 0, height=10_241), C, T),
    "image as tall as training allows": (mutated(classification(), "images", 0, height=10_240), C, T),
    "image taller than evaluation allows": (mutated(classification(2, 1), "images", 0, height=16_001), C, E),
    "duplicate category names": (mutated(classification(), "categories", 1, name="class_1"), C, T),
    "single category detector": ({**detection(), "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]}, D, T),
    "one image in a classifier training set": (classification(1, 1), C, T),
    "no categories": ({**classification(), "categories": []}, C, T),
    "missing images list": ({k: v for k, v in classification().items() if k != "images"}, C, T),
    "bbox ignored for classification": (mutated(classification(), "annotations", 0, bbox=[9, 9, 9, 9]), C, T),
    "2000 categories": (with_categories(2000), C, T),
    # Departures, each explained below.
    "2001 categories": (with_categories(2001), C, T),
    "non-contiguous ids": (renumbered(classification()), C, T),
    "float width": (mutated(classification(), "images", 0, width=64.0), C, T),
}

DEPARTURES = {
    "2001 categories": (True, "API.md: a classifier takes 2..2500 categories; the checker stops at 2000"),
    "non-contiguous ids": (True, "API.md: ids need not be contiguous; the checker demands ids <= the list length"),
    "float width": (False, "API.md: width and height are integers; the checker compares numbers only"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_tailor_agrees_with_the_official_checker(name: str) -> None:
    doc, kind, purpose = CASES[name]
    tailor_accepts = check(doc, kind, purpose).valid
    official = checker_accepts(doc, kind, purpose)
    if name in DEPARTURES:
        expected, reason = DEPARTURES[name]
        assert official is not expected, f"no longer a departure: {reason}"
        assert tailor_accepts is expected, reason
    else:
        assert tailor_accepts is official, f"checker accepts: {official}, Tailor accepts: {tailor_accepts}"


def test_every_case_the_checker_rejects_is_reported_with_a_code_and_a_path() -> None:
    for name, (doc, kind, purpose) in CASES.items():
        report = check(doc, kind, purpose)
        if not checker_accepts(doc, kind, purpose) and name not in DEPARTURES:
            assert report.errors, name
            assert all(p.code and p.path and p.message for p in report.errors), name
