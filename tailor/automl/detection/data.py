"""Boxes and images for detection: relative COCO boxes converted once into absolute xyxy pixels of the loaded
images, and box-aware augmentation with torchvision.transforms.v2 (flips, scale jitter, crops that keep boxes)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2

from ...coco import CocoDataset


@dataclass(frozen=True)
class Targets:
    boxes: tuple[np.ndarray, ...]  # per image (k, 4) float32 xyxy, pixels of the loaded image
    labels: tuple[np.ndarray, ...]  # per image (k,) int64 class index

    def counts(self, num_classes: int) -> np.ndarray:
        """Images per class (an image counts once for each class it shows)."""
        counts = np.zeros(num_classes, dtype=np.int64)
        for labels in self.labels:
            counts[np.unique(labels)] += 1
        return counts


def targets_of(dataset: CocoDataset, images: list[Image.Image], classes: np.ndarray) -> Targets:
    """`classes[c]` is the detector's class index of dataset category c. Images without boxes are negatives."""
    assert dataset.annotation_bboxes is not None
    boxes: list[list[np.ndarray]] = [[] for _ in images]
    labels: list[list[int]] = [[] for _ in images]
    for row, category, box in zip(
        dataset.annotation_images.tolist(), dataset.annotation_categories.tolist(), dataset.annotation_bboxes
    ):
        width, height = images[row].size
        left, top, w, h = (float(v) for v in box)
        boxes[row].append(np.array([left * width, top * height, (left + w) * width, (top + h) * height]))
        labels[row].append(int(classes[category]))
    return Targets(
        tuple(np.array(b, dtype=np.float32).reshape(-1, 4) for b in boxes),
        tuple(np.array(lab, dtype=np.int64) for lab in labels),
    )


def augmentation(strength: int) -> v2.Transform:
    """0: flips only; 1: and scale jitter with colour; 2: and crops that keep at least part of every kept box."""
    steps: list[v2.Transform] = [v2.RandomHorizontalFlip()]
    if strength >= 1:
        steps += [v2.RandomApply([v2.ColorJitter(0.3, 0.3, 0.3, 0.03)], p=0.8),
                  v2.RandomApply([v2.RandomZoomOut(fill=127, side_range=(1.0, 1.6))], p=0.3)]
    if strength >= 2:
        steps += [v2.RandomApply([v2.RandomIoUCrop(min_scale=0.5, sampler_options=[0.3, 0.5, 0.7, 0.9, 1.0])], p=0.5)]
    steps += [v2.SanitizeBoundingBoxes(min_size=2)]
    return v2.Compose(steps)


def sample(image: Image.Image, boxes: np.ndarray, labels: np.ndarray, transform: v2.Transform | None):
    """One training sample: a float image tensor in [0, 1] and its target dict, as torchvision's detectors take."""
    tensor = tv_tensors.Image(v2.functional.pil_to_tensor(image))
    target = {
        "boxes": tv_tensors.BoundingBoxes(torch.from_numpy(boxes), format="XYXY", canvas_size=tensor.shape[-2:]),
        "labels": torch.from_numpy(labels),
    }
    if transform is not None:
        tensor, target = transform(tensor, target)
    return v2.functional.to_dtype(tensor, torch.float32, scale=True).as_subclass(torch.Tensor), {
        "boxes": target["boxes"].as_subclass(torch.Tensor).float(), "labels": target["labels"]
    }
