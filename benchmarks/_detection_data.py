"""The detection benchmark's data (benchmarks/detection.py): Fashion-MNIST items composited onto real photographs.

Backgrounds: the photographs that ship inside scikit-image (`skimage.data`, no download), split by rows: crops for
the training sets come from the top 59% of each photograph, crops for the test set from the bottom 39%, so no test
background pixel was ever seen in training. A canvas is a random crop (0.8..1.6 x the canvas size, flipped at random)
resized to 224..320 x 192..256 px, so aspect ratios run from 0.875 to 1.67.

Objects: Fashion-MNIST items of four classes (Debian's `dataset-fashion-mnist`), training sets from its TRAIN split
and the test set from its TEST split. An item is upscaled (bilinear) 2..4x, flipped at random, and tinted with a
random colour shaded by its own intensity; its alpha mask is made from that intensity (0 below 16, opaque from 40),
so the photograph shows around the item and through its holes (bag handles). 1..3 objects an image; their boxes,
grown by 4 px, never overlap, so no item hides another and every box is exact: the extent of the pixels the item's
mask covers, not its square. About 10% of the images are negatives (no object).

Counts: a set of N per class holds exactly N images showing each class (an image counts once for each class it
shows; the classes of an image are drawn among those still short of N), plus the negatives.
"""

from __future__ import annotations

import colorsys
import gzip
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
# (Fashion-MNIST label, category name): four classes that differ in shape.
CLASSES = ((1, "trouser"), (7, "sneaker"), (8, "bag"), (9, "ankle boot"))
# Photographs bundled in scikit-image's wheel (loaders that need pooch, i.e. a download, are left out).
BACKGROUNDS = (
    "astronaut", "brick", "camera", "cell", "chelsea", "clock", "coffee", "coins", "grass", "gravel",
    "hubble_deep_field", "immunohistochemistry", "moon", "retina", "rocket", "stereo_motorcycle",
)
TRAIN_ROWS = (0.0, 0.59)  # fractions of each photograph's height
TEST_ROWS = (0.61, 1.0)
CANVAS_WIDTH = (224, 320)
CANVAS_HEIGHT = (192, 256)
CROP_SCALE = (0.8, 1.6)  # crop side / canvas side, before the band limits it
ITEM_SCALE = (2.0, 4.0)  # 28 px items drawn 56..112 px
ALPHA_FLOOR, ALPHA_RAMP = 16.0, 24.0  # alpha = clip((intensity - 16) / 24, 0, 1)
SHADE_FLOOR = 0.3  # colour = tint x (0.3 + 0.7 x intensity / 255)
OBJECTS = (1, 2, 3)
OBJECT_WEIGHTS = (0.45, 0.35, 0.2)
NEGATIVE_SHARE = 0.1
BOX_GAP = 4  # px between any two boxes
PLACEMENT_TRIES = 60
JPEG_QUALITY = 90
PREVIEW_IMAGES = 16
PREVIEW_COLUMNS = 4
PREVIEW_COLOURS = ((255, 40, 40), (40, 255, 40), (40, 160, 255), (255, 230, 0))


@dataclass(frozen=True)
class SetSpec:
    name: str
    per_class: int
    training: bool  # training: Fashion-MNIST TRAIN split and the top band; test: TEST split and the bottom band
    seed: int


@dataclass(frozen=True)
class Box:
    category: int  # index into CLASSES
    left: int
    top: int
    right: int  # exclusive
    bottom: int  # exclusive

    def grown(self, margin: int) -> tuple[int, int, int, int]:
        return self.left - margin, self.top - margin, self.right + margin, self.bottom + margin


@dataclass(frozen=True)
class Composite:
    image: Image.Image
    boxes: tuple[Box, ...]
    background: str


# --------------------------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """A gzipped idx file of unsigned bytes (as benchmarks/fewshot.py reads it)."""
    data = gzip.decompress(path.read_bytes())
    if data[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not an unsigned-byte idx file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_items(training: bool) -> dict[int, np.ndarray]:
    """Category index -> that class's 28x28 items of the TRAIN (training) or TEST split."""
    split = "train" if training else "t10k"
    if not FASHION_DIR.is_dir():
        raise SystemExit(f"{FASHION_DIR} is missing: apt-get install -y dataset-fashion-mnist")
    images = read_idx(FASHION_DIR / f"{split}-images-idx3-ubyte.gz")
    labels = read_idx(FASHION_DIR / f"{split}-labels-idx1-ubyte.gz")
    return {c: images[labels == label] for c, (label, _) in enumerate(CLASSES)}


def load_backgrounds() -> dict[str, np.ndarray]:
    """Name -> RGB uint8 photograph, from the files inside scikit-image (no network)."""
    import skimage.data  # a dev dependency; only the data needs it

    photos = {}
    for name in BACKGROUNDS:
        try:
            photo = getattr(skimage.data, name)()
        except Exception as exc:  # pooch missing or no network: these must ship inside the package
            raise SystemExit(f"skimage.data.{name}() is not available offline: {exc}") from None
        photo = np.asarray(photo[0] if isinstance(photo, tuple) else photo)  # stereo_motorcycle: the left view
        if photo.ndim == 2:
            photo = np.repeat(photo[:, :, None], 3, axis=2)
        photos[name] = np.ascontiguousarray(photo[:, :, :3]).astype(np.uint8)
    return photos


# --------------------------------------------------------------------------------------------------------------
# Compositing
# --------------------------------------------------------------------------------------------------------------


def canvas_from(rng: np.random.Generator, photo: np.ndarray, rows: tuple[float, float]) -> np.ndarray:
    """A random crop of the photograph's band of rows, resized to a canvas of random size; float32 (h, w, 3)."""
    top, bottom = int(rows[0] * photo.shape[0]), int(rows[1] * photo.shape[0])
    band = photo[top:bottom]
    width = int(rng.integers(CANVAS_WIDTH[0], CANVAS_WIDTH[1] + 1))
    height = int(rng.integers(CANVAS_HEIGHT[0], CANVAS_HEIGHT[1] + 1))
    scale = rng.uniform(*CROP_SCALE)
    scale = min(scale, band.shape[1] / width, band.shape[0] / height)  # keeps the canvas's aspect ratio
    crop_w, crop_h = max(1, int(width * scale)), max(1, int(height * scale))
    x = int(rng.integers(0, band.shape[1] - crop_w + 1))
    y = int(rng.integers(0, band.shape[0] - crop_h + 1))
    crop = Image.fromarray(band[y : y + crop_h, x : x + crop_w]).resize((width, height), Image.Resampling.BICUBIC)
    if rng.random() < 0.5:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return np.asarray(crop, dtype=np.float32)


def render_item(rng: np.random.Generator, item: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(colour (s, s, 3), alpha (s, s)) of one 28x28 item, upscaled, maybe flipped, tinted and shaded."""
    side = round(28 * rng.uniform(*ITEM_SCALE))
    intensity = np.asarray(
        Image.fromarray(item.astype(np.float32)).resize((side, side), Image.Resampling.BILINEAR)
    )
    if rng.random() < 0.5:
        intensity = intensity[:, ::-1]
    alpha = np.clip((intensity - ALPHA_FLOOR) / ALPHA_RAMP, 0.0, 1.0)
    tint = np.array(colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.2, 0.9), rng.uniform(0.55, 1.0)))
    shade = SHADE_FLOOR + (1 - SHADE_FLOOR) * np.clip(intensity, 0, 255) / 255.0
    return 255.0 * shade[:, :, None] * tint[None, None, :], alpha


def extent(alpha: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, right, bottom), exclusive, of the pixels the mask covers at all."""
    cols, rows = np.flatnonzero(alpha.any(axis=0)), np.flatnonzero(alpha.any(axis=1))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def overlaps(a: tuple[int, int, int, int], b: Box) -> bool:
    return a[0] < b.right and b.left < a[2] and a[1] < b.bottom and b.top < a[3]


def compose(
    rng: np.random.Generator, photo_name: str, photo: np.ndarray, rows: tuple[float, float],
    objects: Sequence[tuple[int, np.ndarray]],
) -> Composite:
    """A canvas with the objects (category, 28x28 item) pasted where their grown boxes clear every earlier box; an
    object that finds no place in PLACEMENT_TRIES is left out (the caller counts what was placed)."""
    canvas = canvas_from(rng, photo, rows)
    height, width = canvas.shape[:2]
    boxes: list[Box] = []
    for category, item in objects:
        colour, alpha = render_item(rng, item)
        side = alpha.shape[0]
        left, top, right, bottom = extent(alpha)
        for _ in range(PLACEMENT_TRIES):
            x = int(rng.integers(0, width - side + 1))
            y = int(rng.integers(0, height - side + 1))
            box = Box(category, x + left, y + top, x + right, y + bottom)
            if not any(overlaps(box.grown(BOX_GAP), other) for other in boxes):
                break
        else:
            continue
        a = alpha[:, :, None]
        canvas[y : y + side, x : x + side] = a * colour + (1 - a) * canvas[y : y + side, x : x + side]
        boxes.append(box)
    image = Image.fromarray(np.clip(np.rint(canvas), 0, 255).astype(np.uint8))
    return Composite(image, tuple(boxes), photo_name)


def plan_images(rng: np.random.Generator, per_class: int) -> list[list[int]]:
    """The categories of each image's objects: every class on exactly `per_class` images if every object is placed
    (make_set tops up when one is not), then about NEGATIVE_SHARE negatives ([])."""
    short = np.full(len(CLASSES), per_class)
    plan = []
    while short.any():
        count = int(rng.choice(OBJECTS, p=OBJECT_WEIGHTS))
        weights = short / short.sum()
        categories = rng.choice(len(CLASSES), size=count, p=weights).tolist()
        short[sorted(set(categories))] -= 1
        plan.append(categories)
    negatives = round(len(plan) * NEGATIVE_SHARE / (1 - NEGATIVE_SHARE))
    plan += [[] for _ in range(negatives)]
    return [plan[i] for i in rng.permutation(len(plan))]


def make_set(spec: SetSpec, items: dict[int, np.ndarray], photos: dict[str, np.ndarray]) -> list[Composite]:
    """The set's images, deterministic in spec.seed. Items are drawn without replacement within the set; backgrounds
    cycle through the photographs in a shuffled order so that each is used about equally."""
    rng = np.random.default_rng(spec.seed)
    rows = TRAIN_ROWS if spec.training else TEST_ROWS
    order = {c: rng.permutation(len(pool)).tolist() for c, pool in items.items()}
    names = list(photos)
    composites: list[Composite] = []
    shown = np.zeros(len(CLASSES), dtype=int)
    names_left: list[str] = []

    def add(categories: list[int]) -> None:
        if not names_left:
            names_left.extend(rng.permutation(names).tolist())
        name = names_left.pop()
        objects = [(c, items[c][order[c].pop()]) for c in categories]
        composite = compose(rng, name, photos[name], rows, objects)
        shown[sorted({b.category for b in composite.boxes})] += 1
        composites.append(composite)

    for categories in plan_images(rng, spec.per_class):
        add(categories)
    while (shown < spec.per_class).any():  # an object that found no place: one more image of each class short
        add([int(c) for c in np.flatnonzero(shown < spec.per_class)[:1]])
    return composites


# --------------------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------------------


def write_set(out_dir: Path, name: str, composites: list[Composite]) -> Path:
    """JPEGs under out_dir/name/ and out_dir/name.json, a detection COCO file with relative boxes whose
    absolute_urls are relative references (resolved against the file, as samples/shapes does)."""
    folder = out_dir / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    coco: dict[str, Any] = {
        "images": [],
        "annotations": [],
        "categories": [{"id": c + 1, "name": n} for c, (_, n) in enumerate(CLASSES)],
    }
    for image_id, composite in enumerate(composites, start=1):
        relative = f"{name}/{image_id:05d}.jpg"
        composite.image.save(out_dir / relative, quality=JPEG_QUALITY)
        width, height = composite.image.size
        coco["images"].append(
            {"id": image_id, "width": width, "height": height, "file_name": relative, "absolute_url": relative}
        )
        for box in composite.boxes:
            coco["annotations"].append({
                "id": len(coco["annotations"]) + 1,
                "image_id": image_id,
                "category_id": box.category + 1,
                "bbox": [box.left / width, box.top / height, (box.right - box.left) / width,
                         (box.bottom - box.top) / height],
            })
    annotation_file = out_dir / f"{name}.json"
    annotation_file.write_text(json.dumps(coco), encoding="utf-8")
    return annotation_file


def write_preview(path: Path, composites: list[Composite], limit: int = PREVIEW_IMAGES) -> None:
    """The first `limit` images on a sheet, each box drawn one pixel outside its extent (so that the item's own
    edge pixels stay visible inside the frame) with its category name."""
    shown = composites[:limit]
    cell_w, cell_h = CANVAS_WIDTH[1] + 8, CANVAS_HEIGHT[1] + 8
    rows = (len(shown) + PREVIEW_COLUMNS - 1) // PREVIEW_COLUMNS
    sheet = Image.new("RGB", (PREVIEW_COLUMNS * cell_w, max(rows, 1) * cell_h), (32, 32, 32))
    for k, composite in enumerate(shown):
        image = composite.image.copy()
        draw = ImageDraw.Draw(image)
        for box in composite.boxes:
            colour = PREVIEW_COLOURS[box.category]
            draw.rectangle((box.left - 1, box.top - 1, box.right, box.bottom), outline=colour)
            draw.text((box.left, max(0, box.top - 12)), CLASSES[box.category][1], fill=colour)
        if not composite.boxes:
            draw.text((4, 4), "negative", fill=(255, 255, 255))
        sheet.paste(image, ((k % PREVIEW_COLUMNS) * cell_w + 4, (k // PREVIEW_COLUMNS) * cell_h + 4))
    sheet.save(path)


def set_stats(composites: list[Composite]) -> dict[str, Any]:
    boxes = [b for c in composites for b in c.boxes]
    sides = np.array([(b.right - b.left, b.bottom - b.top) for b in boxes]).reshape(-1, 2)
    sizes = np.array([c.image.size for c in composites])
    return {
        "images": len(composites),
        "negatives": sum(not c.boxes for c in composites),
        "objects": len(boxes),
        "images_per_class": {
            n: sum(any(b.category == c for b in comp.boxes) for comp in composites)
            for c, (_, n) in enumerate(CLASSES)
        },
        "objects_per_class": {n: sum(b.category == c for b in boxes) for c, (_, n) in enumerate(CLASSES)},
        "box_sides_px": [int(sides.min()), int(sides.max())] if len(boxes) else None,
        "image_widths_px": [int(sizes[:, 0].min()), int(sizes[:, 0].max())],
        "image_heights_px": [int(sizes[:, 1].min()), int(sizes[:, 1].max())],
        "backgrounds": sorted({c.background for c in composites}),
    }
