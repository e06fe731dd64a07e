"""Regenerate the bundled sample datasets (deterministic): `python samples/make_samples.py`.

fruit/  a classification set, one folder per label, made into COCO with Tailor's own folder importer (train.json),
        and a separate test set drawn the same way (test.json over test-images/), for evaluations.
shapes/ a detection set: circles and squares with relative boxes.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import msgspec
from PIL import Image, ImageDraw

from tailor.coco import CocoAnnotation, CocoCategory, CocoFile, CocoImage, import_folder

HERE = Path(__file__).resolve().parent
FRUIT = {"apple": (200, 30, 40), "banana": (240, 220, 60), "orange": (245, 140, 20)}
SIZE = 64


def fruit(rng: random.Random, label: str, colour: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", (SIZE, SIZE), tuple(rng.randint(180, 255) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    cx, cy = rng.randint(24, 40), rng.randint(24, 40)
    rx, ry = (22, 9) if label == "banana" else (rng.randint(14, 18),) * 2
    jitter = tuple(max(0, min(255, c + rng.randint(-20, 20))) for c in colour)
    draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=jitter)
    return image


def make_fruit(rng: random.Random, per_label: int = 8, folder: str = "images", file: str = "train.json") -> None:
    root = HERE / "fruit" / folder
    for label, colour in FRUIT.items():
        (root / label).mkdir(parents=True, exist_ok=True)
        for k in range(per_label):
            fruit(rng, label, colour).save(root / label / f"{label}_{k + 1}.png", optimize=True)
    result = import_folder(root, base_url=folder)  # relative: resolved against the COCO file wherever it lives
    (HERE / "fruit" / file).write_bytes(msgspec.json.format(msgspec.json.encode(result.coco), indent=1))


def make_shapes(rng: random.Random, count: int = 40) -> None:
    """Enough images for a detector to learn in a few minutes of a CPU: with 10 it answered dozens of shifted boxes."""
    folder = HERE / "shapes" / "images"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    width, height = 128, 96
    images, annotations = [], []
    for image_id in range(1, count + 1):
        image = Image.new("RGB", (width, height), (235, 235, 235))
        draw = ImageDraw.Draw(image)
        placed: list[tuple[int, int, int, int]] = []
        for _ in range(rng.randint(1, 3)):
            for _ in range(30):  # a place apart from the shapes already drawn: every box shows its whole shape
                side = rng.randint(20, 40)
                left, top = rng.randint(0, width - side), rng.randint(0, height - side)
                box = (left, top, left + side, top + side)
                if all(box[2] + 2 < b[0] or b[2] + 2 < box[0] or box[3] + 2 < b[1] or b[3] + 2 < box[1] for b in placed):
                    break
            else:
                continue
            placed.append(box)
            category = rng.choice((1, 2))
            drawn = (left, top, left + side - 1, top + side - 1)  # PIL's corners are inclusive: side x side pixels
            if category == 1:
                draw.ellipse(drawn, fill=(30, 90, 200))
            else:
                draw.rectangle(drawn, fill=(30, 160, 60))
            annotations.append(
                CocoAnnotation(
                    id=len(annotations) + 1, image_id=image_id, category_id=category,
                    bbox=(left / width, top / height, side / width, side / height),
                )
            )
        name = f"shapes_{image_id}.png"
        image.save(folder / name, optimize=True)
        images.append(CocoImage(id=image_id, width=width, height=height, file_name=name, absolute_url=f"images/{name}"))
    coco = CocoFile(
        images=images,
        annotations=annotations,
        categories=[CocoCategory(id=1, name="circle"), CocoCategory(id=2, name="square")],
    )
    (HERE / "shapes" / "train.json").write_bytes(msgspec.json.format(msgspec.json.encode(coco), indent=1))


if __name__ == "__main__":
    make_fruit(random.Random(7))
    make_shapes(random.Random(11))
    make_fruit(random.Random(13), per_label=5, folder="test-images", file="test.json")
