"""What an iteration trains on: the project's tagged images as one COCO file (Image Analysis's flavour: relative
boxes, `absolute_url` per image), checked first against the rules a training needs, each refusal saying what to do.
Pure: records in, a COCO document out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..coco import AnnotationKind
from .codes import ClassificationType, ErrorCode, TagType
from .errors import CustomVisionError
from .records import Project, StoredImage, Tag

# Tailor's own minimum, as Image Analysis had: AutoML holds images out to measure, and needs two of a tag for that.
# Custom Vision asked for 5 (classification) and 15 (detection).
MIN_IMAGES_PER_TAG = 2
_Mark = tuple[str, tuple[float, float, float, float] | None]  # a tag on an image, with its box when detecting


@dataclass(frozen=True)
class Snapshot:
    coco: dict[str, Any]
    kind: AnnotationKind
    tags: tuple[Tag, ...]  # the categories, in order
    image_count: int


def snapshot(project: Project, tags: Sequence[Tag], images: Sequence[StoredImage], uri_of: Callable[[StoredImage], str],
             selected_tag_ids: Sequence[str] | None = None) -> Snapshot:
    kind = project.domain.type.annotation_kind
    chosen = [t for t in tags if selected_tag_ids is None or t.id in set(selected_tag_ids)]
    negative_ids = {t.id for t in tags if t.type is TagType.NEGATIVE}
    if kind is AnnotationKind.DETECTION:
        chosen = [t for t in chosen if t.type is not TagType.NEGATIVE]  # a negative image is one without boxes
    ids = {t.id for t in chosen}
    uses: Counter[str] = Counter()
    usable: list[tuple[StoredImage, list[_Mark]]] = []
    for image in images:
        marks: list[_Mark]
        if kind is AnnotationKind.DETECTION:
            marks = [(r.tag_id, (r.left, r.top, r.width, r.height)) for r in image.regions if r.tag_id in ids]
            negative = not image.regions and any(t.tag_id in negative_ids for t in image.tags)
            if not marks and not negative:
                continue
        else:
            marks = [(t.tag_id, None) for t in image.tags if t.tag_id in ids]
            if not marks:
                continue
            if project.classification_type is ClassificationType.MULTICLASS and len(marks) > 1:
                names = ", ".join(t.tag_name for t in image.tags if t.tag_id in ids)
                raise CustomVisionError(
                    ErrorCode.CLASSIFICATION_TRAINING_VALIDATION_FAILED,
                    f"image {image.id} has {len(marks)} tags ({names}) in a Multiclass project, where each image "
                    "has one: remove the extra tags (delete_image_tags), or make the project Multilabel",
                )
        uses.update({tag_id for tag_id, _ in marks})
        usable.append((image, marks))
    _check(project, kind, chosen, uses, usable)
    categories = [t for t in chosen if uses[t.id] > 0]
    number = {t.id: k + 1 for k, t in enumerate(categories)}
    coco_images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for k, (image, marks) in enumerate(usable, start=1):
        coco_images.append({"id": k, "file_name": f"{image.id}.{image.format}", "absolute_url": uri_of(image),
                            "width": image.width, "height": image.height})
        for tag_id, box in marks:
            annotation: dict[str, Any] = {"id": len(annotations) + 1, "image_id": k, "category_id": number[tag_id]}
            if box is not None:
                annotation["bbox"] = [round(v, 6) for v in box]
            annotations.append(annotation)
    coco = {"images": coco_images, "annotations": annotations,
            "categories": [{"id": number[t.id], "name": t.name} for t in categories]}
    return Snapshot(coco, kind, tuple(categories), len(coco_images))


def _check(project: Project, kind: AnnotationKind, chosen: Sequence[Tag], uses: Counter, usable: list) -> None:
    detection = kind is AnnotationKind.DETECTION
    code = ErrorCode.DETECTION_TRAINING_VALIDATION_FAILED if detection \
        else ErrorCode.CLASSIFICATION_TRAINING_VALIDATION_FAILED
    if not usable or not uses:
        what = "images with regions" if detection else "tagged images"
        raise CustomVisionError(
            ErrorCode.TRAINING_VALIDATION_FAILED,
            f"the project has no {what} to train on: upload images with their "
            f"{'regions' if detection else 'tags'}, at least {MIN_IMAGES_PER_TAG} for each tag, then train",
        )
    short = [(t.name, uses[t.id]) for t in chosen if 0 < uses[t.id] < MIN_IMAGES_PER_TAG]
    if short:
        listed = ", ".join(f"{name!r} has {count}" for name, count in short)
        raise CustomVisionError(
            code, f"each tag needs at least {MIN_IMAGES_PER_TAG} {'images with its regions' if detection else 'images'}"
                  f" to train: {listed}. Add images of {'these tags' if len(short) > 1 else 'it'}, or delete "
                  f"{'them' if len(short) > 1 else 'it'}",
        )
    used = [t for t in chosen if uses[t.id] > 0]
    if not detection and len(used) < 2:
        raise CustomVisionError(
            code, f"a classifier needs images of at least 2 tags; the project has images of "
                  f"{len(used)} ({', '.join(repr(t.name) for t in used) or 'none'}): tag images with a second tag",
        )
