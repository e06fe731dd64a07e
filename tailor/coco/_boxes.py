"""Boxes: COCO files in Tailor hold relative [left, top, width, height] in 0..1; pycocotools wants pixels."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._dataset import CocoDataset
from ._kinds import AnnotationKind
from ._reference import CocoAnnotation, CocoCategory, CocoFile, CocoImage


def to_absolute(boxes: np.ndarray, widths: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """Relative (n, 4) boxes to pixels, each row scaled by its image's width and height."""
    scale = np.stack([widths, heights, widths, heights], axis=-1).astype(np.float64)
    return np.asarray(boxes, dtype=np.float64) * scale


def to_relative(boxes: np.ndarray, widths: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """Pixel (n, 4) boxes to relative ones, clipped into the image (pixel boxes may overhang by rounding)."""
    scale = np.stack([widths, heights, widths, heights], axis=-1).astype(np.float64)
    rel = np.asarray(boxes, dtype=np.float64) / scale
    rel[:, 0:2] = np.clip(rel[:, 0:2], 0.0, np.nextafter(1.0, 0.0))
    rel[:, 2] = np.minimum(rel[:, 2], 1.0 - rel[:, 0])
    rel[:, 3] = np.minimum(rel[:, 3], 1.0 - rel[:, 1])
    return rel


def to_pycocotools(dataset: CocoDataset) -> dict[str, Any]:
    """The dataset as the dict `pycocotools.coco.COCO` and `COCOeval` expect: ids from 1, absolute boxes, `area`
    and `iscrowd`. Image `i` of the dataset has id `i + 1`, category `c` has id `c + 1`."""
    if dataset.kind is not AnnotationKind.DETECTION or dataset.annotation_bboxes is None:
        raise ValueError("pycocotools evaluates boxes: only a detection dataset converts to it")
    rows = dataset.annotation_images
    boxes = to_absolute(dataset.annotation_bboxes, dataset.image_widths[rows], dataset.image_heights[rows])
    areas = boxes[:, 2] * boxes[:, 3]
    return {
        "images": [
            {"id": i + 1, "width": int(w), "height": int(h), "file_name": url, "coco_url": url}
            for i, (w, h, url) in enumerate(
                zip(dataset.image_widths.tolist(), dataset.image_heights.tolist(), dataset.image_urls)
            )
        ],
        "annotations": [
            {"id": k + 1, "image_id": int(i) + 1, "category_id": int(c) + 1, "bbox": box, "area": area, "iscrowd": 0}
            for k, (i, c, box, area) in enumerate(
                zip(rows.tolist(), dataset.annotation_categories.tolist(), boxes.tolist(), areas.tolist())
            )
        ],
        "categories": [{"id": c + 1, "name": name} for c, name in enumerate(dataset.categories)],
    }


def from_pycocotools(coco: dict[str, Any]) -> CocoFile:
    """A pycocotools-style dict (absolute boxes) back to a Tailor COCO file (relative boxes)."""
    images = coco["images"]
    size = {im["id"]: (im["width"], im["height"]) for im in images}
    anns = coco["annotations"]
    pixel = np.asarray([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4)
    widths = np.asarray([size[a["image_id"]][0] for a in anns], dtype=np.float64)
    heights = np.asarray([size[a["image_id"]][1] for a in anns], dtype=np.float64)
    rel = to_relative(pixel, widths, heights)
    return CocoFile(
        images=[
            CocoImage(
                id=im["id"], width=im["width"], height=im["height"], file_name=im["file_name"],
                absolute_url=im.get("absolute_url") or im.get("coco_url"),
            )
            for im in images
        ],
        annotations=[
            CocoAnnotation(id=a["id"], image_id=a["image_id"], category_id=a["category_id"], bbox=tuple(box))
            for a, box in zip(anns, rel.tolist())
        ],
        categories=[CocoCategory(id=c["id"], name=c["name"]) for c in coco["categories"]],
    )
