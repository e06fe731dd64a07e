"""Small image datasets the tests generate: coloured shapes a classifier can learn, or noise it cannot."""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image, ImageDraw

COLOURS = [(200, 30, 40), (30, 160, 60), (40, 60, 210), (230, 200, 40), (150, 60, 180), (20, 180, 190)]


def shapes_dataset(
    root: Path, *, classes: int = 3, per_class: int = 6, size: int = 64, learnable: bool = True, seed: int = 0,
    multilabel: bool = False,
) -> Path:
    """Write images and a COCO classification file under `root`; return the file. Learnable: each class is a
    colour of disc; not learnable: every image is the same grey noise pattern, whatever its label."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    noise = Image.effect_noise((size, size), 40).convert("RGB")
    for c in range(classes):
        for k in range(per_class):
            image_id = len(images) + 1
            if learnable:
                image = Image.new("RGB", (size, size), tuple(rng.randint(200, 255) for _ in range(3)))
                r = rng.randint(size // 5, size // 3)
                cx, cy = rng.randint(r, size - r), rng.randint(r, size - r)
                ImageDraw.Draw(image).ellipse((cx - r, cy - r, cx + r, cy + r), fill=COLOURS[c % len(COLOURS)])
            else:
                image = noise.copy()
            name = f"c{c}_{k}.png"
            image.save(root / name)
            images.append({"id": image_id, "width": size, "height": size, "file_name": name, "absolute_url": name})
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": c + 1})
            if multilabel and k % 2 == 0:
                annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": (c + 1) % classes + 1})
    coco = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": c + 1, "name": f"class_{c}"} for c in range(classes)],
    }
    path = root / "train.json"
    path.write_text(json.dumps(coco))
    return path
