"""Data for benchmarks/detection_photos.py: tree crowns in real aerial photographs, from the PyPI registry.

The `deepforest` wheel (2.1.0, MIT licence) ships RGB orthophotos of the NEON sites (10 cm a pixel) with their crowns
annotated as Pascal VOC boxes, one category ("Tree"):

* `2019_YELL_2_528000_4978000_image_crop2.png`: Yellowstone, 2299 x 2472 px, 574 crowns; the TRAINING place, cut
  into 400-px tiles (the 30 whole ones); the training sets are tiles drawn from it;
* `2019_YELL_2_541000_4977000_image_crop.png`: Yellowstone again, 13 km east, 1249 x 1035 px, 279 crowns: cut into
  its 6 whole 400-px tiles, test images (same site, other stand);
* `OSBS_029.png` (Ordway-Swisher, Florida: longleaf pines on sand, 61 crowns) and `SOAP_061.png` (Soaproot Saddle,
  California: mixed conifer, 37 crowns), 400 px each: test images from two other places, other species, other light.

A box cut by a tile's edge is kept (clipped) when at least half of it lies inside the tile, else dropped: a crown
mostly outside is not an object of that tile. Crowns are 18-66 px (10th to 90th percentile of the box widths), many
touching: small, dense objects. The wheel is fetched once with `pip download` into `<work>/deepforest/`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

WHEEL = "deepforest==2.1.0"
CATEGORY = "Tree"
TILE = 400
TRAIN_SOURCE = "2019_YELL_2_528000_4978000_image_crop2"
TEST_SOURCES = ("2019_YELL_2_541000_4977000_image_crop", "OSBS_029", "SOAP_061")
MIN_VISIBLE = 0.5  # of a box's area inside a tile, for it to count as that tile's object
MIN_CROWNS = 5  # a training tile with fewer is mostly bare ground or road: not drawn for a training set
PREVIEW_COLUMNS = 4


@dataclass(frozen=True)
class Tile:
    name: str  # "<source>_<column>_<row>" (or the source, for a 400-px image)
    image: Image.Image
    boxes: np.ndarray  # (k, 4) xyxy pixels of the tile


def fetch_sources(work: Path) -> Path:
    """The wheel's data folder, downloaded and unpacked the first time."""
    folder = work / "deepforest"
    data = folder / "deepforest" / "data"
    if (data / f"{TRAIN_SOURCE}.xml").exists():
        return data
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", WHEEL,
                    "-d", str(folder)], check=True)
    wheel = next(folder.glob("deepforest-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.startswith("deepforest/data/") and member.endswith((".png", ".xml")):
                archive.extract(member, folder)
    return data


def read_boxes(xml_file: Path) -> np.ndarray:
    """A Pascal VOC file's boxes as (k, 4) xyxy pixels (VOC's are inclusive pixel indices: the right edge is +1)."""
    text = xml_file.read_text(encoding="utf-8")
    found = re.findall(r"<xmin>(\d+)</xmin>\s*<ymin>(\d+)</ymin>\s*<xmax>(\d+)</xmax>\s*<ymax>(\d+)</ymax>", text)
    boxes = np.array(found, dtype=np.float32).reshape(-1, 4)
    boxes[:, 2:] += 1
    return boxes


def tiles_of(data: Path, source: str) -> list[Tile]:
    image = Image.open(data / f"{source}.png").convert("RGB")
    boxes = read_boxes(data / f"{source}.xml")
    tiles = []
    for top in range(0, image.height - TILE + 1, TILE):
        for left in range(0, image.width - TILE + 1, TILE):
            window = np.array([left, top, left + TILE, top + TILE], dtype=np.float32)
            inside = np.concatenate([np.maximum(boxes[:, :2], window[:2]), np.minimum(boxes[:, 2:], window[2:])], 1)
            area = np.prod(np.clip(inside[:, 2:] - inside[:, :2], 0, None), 1)
            whole = np.prod(boxes[:, 2:] - boxes[:, :2], 1)
            kept = inside[area >= MIN_VISIBLE * whole] - np.tile(window[:2], 2)
            name = source if image.size == (TILE, TILE) else f"{source}_{left // TILE}_{top // TILE}"
            tiles.append(Tile(name, image.crop(tuple(int(v) for v in window)), kept))
    return tiles


def training_tiles(data: Path, seed: int) -> list[Tile]:
    """The training place's tiles with at least MIN_CROWNS crowns, in an order drawn once: a training set of n images
    is the first n (so the 2-image set is part of the 10-image one)."""
    tiles = [t for t in tiles_of(data, TRAIN_SOURCE) if len(t.boxes) >= MIN_CROWNS]
    order = np.random.default_rng(seed).permutation(len(tiles))
    return [tiles[k] for k in order]


def test_tiles(data: Path) -> list[Tile]:
    return [tile for source in TEST_SOURCES for tile in tiles_of(data, source)]


def write_set(out_dir: Path, name: str, tiles: list[Tile]) -> Path:
    """PNGs under out_dir/name/ and out_dir/name.json, a detection COCO file with relative boxes whose absolute_urls
    are relative references (resolved against the file)."""
    folder = out_dir / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    coco: dict[str, Any] = {"images": [], "annotations": [], "categories": [{"id": 1, "name": CATEGORY}]}
    for image_id, tile in enumerate(tiles, start=1):
        relative = f"{name}/{tile.name}.png"
        tile.image.save(out_dir / relative)
        width, height = tile.image.size
        coco["images"].append(
            {"id": image_id, "width": width, "height": height, "file_name": relative, "absolute_url": relative}
        )
        for left, top, right, bottom in tile.boxes.tolist():
            coco["annotations"].append({
                "id": len(coco["annotations"]) + 1, "image_id": image_id, "category_id": 1,
                "bbox": [left / width, top / height, (right - left) / width, (bottom - top) / height],
            })
    annotation_file = out_dir / f"{name}.json"
    annotation_file.write_text(json.dumps(coco), encoding="utf-8")
    return annotation_file


def write_preview(path: Path, tiles: list[Tile], limit: int = 8) -> None:
    """The first `limit` tiles at half size on a sheet, each true box drawn in yellow."""
    shown = tiles[:limit]
    cell = TILE // 2 + 6
    rows = (len(shown) + PREVIEW_COLUMNS - 1) // PREVIEW_COLUMNS
    sheet = Image.new("RGB", (PREVIEW_COLUMNS * cell, max(rows, 1) * cell), (32, 32, 32))
    for k, tile in enumerate(shown):
        image = tile.image.copy()
        draw = ImageDraw.Draw(image)
        for box in tile.boxes.tolist():
            draw.rectangle(box, outline=(255, 230, 0), width=2)
        sheet.paste(image.resize((TILE // 2, TILE // 2)), ((k % PREVIEW_COLUMNS) * cell + 3, (k // PREVIEW_COLUMNS) * cell + 3))
    sheet.save(path)


def set_stats(tiles: list[Tile]) -> dict[str, Any]:
    boxes = np.concatenate([t.boxes for t in tiles]) if tiles else np.empty((0, 4))
    sides = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    return {
        "images": len(tiles),
        "objects": len(boxes),
        "objects_per_image": [int(min(len(t.boxes) for t in tiles)), int(max(len(t.boxes) for t in tiles))],
        "box_shorter_side_px_p10_p50_p90": [float(np.percentile(sides, q)) for q in (10, 50, 90)],
        "places": sorted({t.name.split("_")[0] if t.name.startswith(("OSBS", "SOAP")) else t.name.rsplit("_", 2)[0]
                          for t in tiles}),
    }
