"""Valid COCO documents to start from; each test breaks exactly what it is about."""

from __future__ import annotations

import copy
import json
from typing import Any

from tailor.coco import AnnotationKind, CocoSource, Purpose, ValidationReport, validate_coco

BASE = "https://acct.blob.core.windows.net/data/"


def classification(categories: int = 2, per_category: int = 2, *, side: int = 64) -> dict[str, Any]:
    images, annotations = [], []
    for c in range(1, categories + 1):
        for _ in range(per_category):
            i = len(images) + 1
            images.append(
                {"id": i, "width": side, "height": side, "file_name": f"img_{i}.jpg", "absolute_url": f"{BASE}img_{i}.jpg"}
            )
            annotations.append({"id": i, "image_id": i, "category_id": c})
    return {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": c, "name": f"class_{c}"} for c in range(1, categories + 1)],
    }


def detection(images: int = 3, *, side: int = 100) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "images": [
            {"id": i, "width": side, "height": side, "file_name": f"img_{i}.jpg", "coco_url": f"{BASE}img_{i}.jpg"}
            for i in range(1, images + 1)
        ],
        "annotations": [],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
    }
    for i in range(1, images + 1):
        for k, box in enumerate(([0.1, 0.1, 0.3, 0.4], [0.5, 0.5, 0.5, 0.5])):
            doc["annotations"].append(
                {"id": len(doc["annotations"]) + 1, "image_id": i, "category_id": k + 1, "bbox": list(box)}
            )
    return doc


def encode(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def check(
    doc: Any,
    kind: AnnotationKind = AnnotationKind.CLASSIFICATION,
    purpose: Purpose | None = Purpose.TRAINING,
    *,
    name: str = "train.json",
    base_uri: str | None = None,
) -> ValidationReport:
    data = doc if isinstance(doc, bytes) else encode(doc)
    return validate_coco([CocoSource(name, data, base_uri)], kind, purpose)


def errors(report: ValidationReport) -> set[tuple[str, str]]:
    return {(p.code.value, p.path) for p in report.errors}


def warnings(report: ValidationReport) -> set[tuple[str, str]]:
    return {(p.code.value, p.path) for p in report.warnings}


def mutated(doc: dict[str, Any], section: str, index: int, **changes: Any) -> dict[str, Any]:
    """A copy of `doc` with fields of one record changed; a value of `...` deletes the field."""
    out = copy.deepcopy(doc)
    record = out[section][index]
    for key, value in changes.items():
        if value is ...:
            record.pop(key, None)
        else:
            record[key] = value
    return out
