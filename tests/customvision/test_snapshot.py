"""The snapshot an iteration trains on: the project's tagged images as COCO, and the refusals that say what to do.
Checked by the COCO toolkit itself: what `snapshot` makes validates for training."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tailor.coco import AnnotationKind, CocoSource, Purpose, validate_coco
from tailor.customvision.codes import ClassificationType, ErrorCode, TagType
from tailor.customvision.errors import CustomVisionError
from tailor.customvision.records import ImageTag, Project, Region, StoredImage, Tag
from tailor.customvision.snapshot import snapshot

NOW = datetime(2026, 12, 1, tzinfo=UTC)
CLASSIFY = "ee85a74c-405e-4adc-bb47-ffa8ca0c9f31"
DETECT = "da2e3a8a-40a5-4171-82f4-58522f70fbc1"


def project(domain: str = CLASSIFY, kind: ClassificationType | None = ClassificationType.MULTICLASS) -> Project:
    return Project("p", "p", "", domain, kind, (), NOW, NOW, NOW)


def image(n: int, tags: list[Tag] = (), regions: list[tuple[Tag, float, float, float, float]] = ()) -> StoredImage:
    return StoredImage(
        f"i{n}", "p", NOW, 200, 100, f"d{n}", "jpg", 1000,
        tags=tuple(ImageTag(t.id, t.name, NOW) for t in tags),
        regions=tuple(Region(f"r{n}{k}", t.id, t.name, *box, NOW) for k, (t, *box) in enumerate(regions)),
    )


def uri(stored: StoredImage) -> str:
    return f"tailor://projects/p/images/{stored.id}/original.jpg"


A, B = Tag("a", "apple", "", TagType.REGULAR), Tag("b", "banana", "", TagType.REGULAR)
NEGATIVE = Tag("n", "Negative", "", TagType.NEGATIVE)


def valid_for_training(doc: dict, kind: AnnotationKind) -> bool:
    import json

    report = validate_coco([CocoSource("tailor://snapshot.json", json.dumps(doc).encode(), "tailor://snapshot.json")],
                           kind, Purpose.TRAINING)
    return report.valid


def test_classification_snapshot_validates() -> None:
    images = [image(1, [A]), image(2, [A]), image(3, [B]), image(4, [B]), image(5, [])]
    taken = snapshot(project(), [A, B], images, uri)
    assert taken.kind is AnnotationKind.CLASSIFICATION and taken.image_count == 4
    assert [c["name"] for c in taken.coco["categories"]] == ["apple", "banana"]
    assert taken.coco["images"][0]["absolute_url"] == "tailor://projects/p/images/i1/original.jpg"
    assert [a["category_id"] for a in taken.coco["annotations"]] == [1, 1, 2, 2]
    assert valid_for_training(taken.coco, AnnotationKind.CLASSIFICATION)


def test_detection_snapshot_has_relative_boxes_and_negatives() -> None:
    images = [image(1, regions=[(A, 0.1, 0.2, 0.3, 0.4)]), image(2, regions=[(A, 0.5, 0.5, 0.2, 0.2)]),
              image(3, [NEGATIVE])]
    taken = snapshot(project(DETECT, None), [A, B, NEGATIVE], images, uri)
    assert taken.kind is AnnotationKind.DETECTION and taken.image_count == 3
    assert [c["name"] for c in taken.coco["categories"]] == ["apple"]  # a tag without boxes is left out
    assert taken.coco["annotations"][0]["bbox"] == [0.1, 0.2, 0.3, 0.4]
    assert valid_for_training(taken.coco, AnnotationKind.DETECTION)


@pytest.mark.parametrize(("images", "code", "words"), [
    ([], ErrorCode.TRAINING_VALIDATION_FAILED, "no tagged images"),
    ([image(1, [A]), image(2, [A]), image(3, [B])], ErrorCode.CLASSIFICATION_TRAINING_VALIDATION_FAILED,
     "'banana' has 1"),
    ([image(1, [A]), image(2, [A])], ErrorCode.CLASSIFICATION_TRAINING_VALIDATION_FAILED, "at least 2 tags"),
    ([image(1, [A, B]), image(2, [A]), image(3, [B])], ErrorCode.CLASSIFICATION_TRAINING_VALIDATION_FAILED,
     "Multiclass"),
])
def test_refusals_say_what_to_do(images, code, words) -> None:
    with pytest.raises(CustomVisionError) as refused:
        snapshot(project(), [A, B], images, uri)
    assert refused.value.code is code and words in refused.value.message


def test_multilabel_allows_several_tags_and_selected_tags_narrow() -> None:
    images = [image(1, [A, B]), image(2, [A]), image(3, [B]), image(4, [A, B])]
    taken = snapshot(project(kind=ClassificationType.MULTILABEL), [A, B], images, uri)
    assert len(taken.coco["annotations"]) == 6
    with pytest.raises(CustomVisionError):  # only apple left: a classifier needs two tags
        snapshot(project(kind=ClassificationType.MULTILABEL), [A, B], images, uri, selected_tag_ids=["a"])
