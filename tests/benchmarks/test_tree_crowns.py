"""benchmarks/_tree_crowns.py, the data of the real-photograph detection benchmark, on a Pascal VOC file and an
image the test writes (the benchmark itself reads the deepforest wheel's): boxes read with VOC's inclusive right
edge, tiles that keep a box when at least half of it is inside, and COCO files that Tailor's validator accepts."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tailor.blobs import Access, BlobPolicy, BlobReader
from tailor.coco import AnnotationKind, Purpose, check_images, validate_coco

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import _tree_crowns as crowns


def voc(boxes: list[tuple[int, int, int, int]]) -> str:
    objects = "".join(
        f"<object><name>Tree</name><bndbox><xmin>{a}</xmin>\n<ymin>{b}</ymin><xmax>{c}</xmax><ymax>{d}</ymax>"
        "</bndbox></object>" for a, b, c, d in boxes
    )
    return f"<annotation><size><width>800</width><height>500</height></size>{objects}</annotation>"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    pixels = np.random.default_rng(0).integers(0, 255, (500, 800, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "site.png")
    (tmp_path / "site.xml").write_text(voc([
        (10, 20, 49, 59),  # inside the first tile
        (380, 100, 419, 139),  # half in each tile: kept by both (clipped), 20 px of 40 each side
        (390, 200, 429, 239),  # a quarter in the first tile, three quarters in the second
        (100, 420, 139, 459),  # below the tiles' row (the image is 500 high): in no tile
    ]))
    return tmp_path


def test_voc_boxes_are_read_with_their_inclusive_right_edge(source: Path) -> None:
    boxes = crowns.read_boxes(source / "site.xml")
    assert boxes.shape == (4, 4) and boxes.dtype == np.float32
    assert boxes[0].tolist() == [10, 20, 50, 60]  # 40 x 40 pixels, as VOC's xmax 49 means


def test_tiles_keep_the_boxes_at_least_half_inside_clipped_and_in_tile_pixels(source: Path) -> None:
    tiles = crowns.tiles_of(source, "site")
    assert [t.name for t in tiles] == ["site_0_0", "site_1_0"]  # whole 400-px tiles only
    assert all(t.image.size == (crowns.TILE, crowns.TILE) for t in tiles)
    first, second = tiles
    assert first.boxes.tolist() == [[10, 20, 50, 60], [380, 100, 400, 140]]
    assert second.boxes.tolist() == [[0, 100, 20, 140], [0, 200, 30, 240]]
    source_pixels = np.asarray(Image.open(source / "site.png"))
    assert np.array_equal(np.asarray(second.image), source_pixels[:400, 400:800])


def test_a_written_set_is_a_valid_detection_coco_file_with_relative_boxes(source: Path, tmp_path: Path) -> None:
    tiles = crowns.tiles_of(source, "site")
    annotation_file = crowns.write_set(tmp_path / "out", "train", tiles)
    reader = BlobReader(BlobPolicy.local_user())
    report = validate_coco([reader.annotation_file(str(annotation_file), max_bytes=1 << 20)],
                           AnnotationKind.DETECTION, Purpose.TRAINING)
    assert report.valid, report.errors
    assert check_images(report.dataset, reader.image_fetcher(Access()), Purpose.TRAINING) == []
    assert report.dataset.num_images == 2 and len(report.dataset.annotation_categories) == 4
    assert report.dataset.annotation_bboxes[0].tolist() == pytest.approx([10 / 400, 20 / 400, 40 / 400, 40 / 400])
    stats = crowns.set_stats(tiles)
    assert stats["objects"] == 4 and stats["objects_per_image"] == [2, 2]
