"""The public surface of tailor.coco is what its __init__ exports; everything else is private."""

from __future__ import annotations

from tailor import coco

EXPECTED = {
    "ALLOWED_IMAGE_FORMATS", "MAX_IMAGE_BYTES", "AnnotationKind", "CocoAnnotation", "CocoCategory", "CocoDataset",
    "CocoFile", "CocoImage", "CocoSource", "ImageCheck", "Problem", "ProblemCode", "Purpose", "Quota", "Severity",
    "ValidationReport", "check_file", "check_image_bytes", "check_images", "check_quotas", "detect_kind",
    "from_pycocotools", "import_folder", "kind_mismatch", "quota_for", "to_absolute", "to_pycocotools", "to_relative", "validate_coco",
}


def test_exported_members() -> None:
    assert set(coco.__all__) == EXPECTED
    for name in coco.__all__:
        assert getattr(coco, name) is not None


def test_public_names_not_exported_are_private() -> None:
    public = {name for name in dir(coco) if not name.startswith("_")}
    assert public - EXPECTED == set()


def test_problem_codes_are_stable_strings() -> None:
    assert coco.ProblemCode("bboxOutOfRange") is coco.ProblemCode.BBOX_OUT_OF_RANGE
    assert coco.ProblemCode.DUPLICATE_CATEGORY_NAME.severity is coco.Severity.WARNING
    assert coco.ProblemCode.MISSING_FIELD.severity is coco.Severity.ERROR
    assert len({c.value for c in coco.ProblemCode}) == len(coco.ProblemCode)


def test_annotation_kind_reads_wire_and_cli_words() -> None:
    assert coco.AnnotationKind.parse("imageObjectDetection") is coco.AnnotationKind.DETECTION
    assert coco.AnnotationKind.parse("Classification") is coco.AnnotationKind.CLASSIFICATION
    try:
        coco.AnnotationKind.parse("segmentation")
    except ValueError as exc:
        assert "classification" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("unknown kinds must be refused")


def test_detect_kind_from_the_boxes() -> None:
    boxed = b'{"annotations": [{"id": 1}, {"id": 2, "bbox": [0.1, 0.1, 0.2, 0.2]}]}'
    assert coco.detect_kind(boxed) == (coco.AnnotationKind.DETECTION, 1)
    unboxed = b'{"annotations": [{"id": 1, "bbox": null}]}'
    assert coco.detect_kind(unboxed) == (coco.AnnotationKind.CLASSIFICATION, None)
    assert coco.detect_kind(b'{"annotations": []}') == (None, None)
    assert coco.detect_kind(b'not json') == (None, None)
    problem = coco.kind_mismatch(boxed, coco.AnnotationKind.CLASSIFICATION, "a.json", "the project classifies")
    assert problem is not None and problem.code is coco.ProblemCode.WRONG_KIND and problem.path == "annotations[1].bbox"
    assert coco.kind_mismatch(boxed, coco.AnnotationKind.DETECTION, "a.json", "x") is None
