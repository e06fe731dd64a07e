"""Small image datasets the tests generate: coloured shapes a classifier can learn, or noise it cannot."""

from __future__ import annotations

import io
import json
import random
import struct
import zlib
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


def disc(colour: tuple[int, int, int], size: tuple[int, int] = (640, 480), background: int = 230) -> Image.Image:
    """A disc of `colour` on a light background: what the shapes models learn (COLOURS[k] is class_k)."""
    image = Image.new("RGB", size, (background,) * 3)
    r = min(size) // 3
    cx, cy = size[0] // 2, size[1] // 2
    ImageDraw.Draw(image).ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    return image


def encoded(image: Image.Image, format: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


SHAPES = ("disc", "square", "triangle")  # class_k of a boxes dataset is SHAPES[k], drawn in COLOURS[k]


def draw_shape(draw: ImageDraw.ImageDraw, kind: int, box: tuple[int, int, int, int]) -> None:
    """The k-th shape exactly filling `box` (left, top, right, bottom, inclusive pixels)."""
    left, top, right, bottom = box
    colour = COLOURS[kind % len(COLOURS)]
    if SHAPES[kind % len(SHAPES)] == "disc":
        draw.ellipse(box, fill=colour)
    elif SHAPES[kind % len(SHAPES)] == "square":
        draw.rectangle(box, fill=colour)
    else:
        draw.polygon([(left, bottom), (right, bottom), ((left + right) // 2, top)], fill=colour)


def boxes_dataset(
    root: Path, *, classes: int = 2, per_class: int = 8, size: tuple[int, int] = (160, 120), seed: int = 0,
    negatives: int = 0,
) -> tuple[Path, list[list[tuple[int, tuple[int, int, int, int]]]]]:
    """A detection set: 1-2 shapes per image on a textured (noise) background, boxes exact and relative in the COCO
    file; `negatives` images without any shape. Returns the COCO file and, per image, (class, pixel box) pairs."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    width, height = size
    images, annotations, drawn = [], [], []
    plan = [c for c in range(classes) for _ in range(per_class)] + [-1] * negatives
    for image_id, first in enumerate(plan, start=1):
        image = Image.effect_noise(size, 30).convert("RGB")
        image = Image.blend(image, Image.new("RGB", size, (120, 130, 120)), 0.5)
        draw, shapes = ImageDraw.Draw(image), []
        kinds = [] if first < 0 else [first] + ([rng.randrange(classes)] if rng.random() < 0.4 else [])
        for kind in kinds:
            for _ in range(20):  # a place that overlaps no shape already drawn
                side = rng.randint(min(size) // 5, min(size) // 3)
                left, top = rng.randint(0, width - side - 1), rng.randint(0, height - side - 1)
                box = (left, top, left + side - 1, top + side - 1)
                if all(box[2] < b[0] or b[2] < box[0] or box[3] < b[1] or b[3] < box[1] for _, b in shapes):
                    break
            draw_shape(draw, kind, box)
            shapes.append((kind, box))
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": kind + 1,
                "bbox": [box[0] / width, box[1] / height, (box[2] + 1 - box[0]) / width, (box[3] + 1 - box[1]) / height],
            })
        name = f"img_{image_id}.jpg"
        image.save(root / name, quality=92)
        images.append({"id": image_id, "width": width, "height": height, "file_name": name, "absolute_url": name})
        drawn.append(shapes)
    coco = {"images": images, "annotations": annotations,
            "categories": [{"id": c + 1, "name": SHAPES[c % len(SHAPES)]} for c in range(classes)]}
    path = root / "train.json"
    path.write_text(json.dumps(coco))
    return path, drawn


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims a huge size: the shape of a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
