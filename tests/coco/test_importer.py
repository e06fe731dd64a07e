"""A folder per label becomes a COCO classification file that validates."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from PIL import Image

from tailor.coco import AnnotationKind, CocoSource, Purpose, import_folder, validate_coco


def make_tree(root: Path) -> None:
    for label, sizes in {"apple": [(64, 48), (80, 80)], "banana": [(100, 50), (60, 60), (70, 90)]}.items():
        (root / label / "nested").mkdir(parents=True)
        for k, size in enumerate(sizes):
            folder = root / label / ("nested" if k == 2 else "")
            Image.new("RGB", size, "yellow").save(folder / f"{label} {k}.jpg")
    (root / "apple" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    Image.new("RGB", (64, 64)).save(root / ".hidden" / "x.png")
    Image.new("RGB", (64, 64)).save(root / "stray.png")  # not inside a label folder


def test_folder_per_label_becomes_a_valid_classification_file(tmp_path: Path) -> None:
    make_tree(tmp_path)
    result = import_folder(tmp_path)
    coco = result.coco
    assert [c.name for c in coco.categories] == ["apple", "banana"]
    assert len(coco.images) == 5
    sizes = {im.file_name: (im.width, im.height) for im in coco.images}
    assert sizes["banana/nested/banana 2.jpg"] == (70, 90)
    assert sizes["apple/apple 0.jpg"] == (64, 48)
    assert [p.name for p, _ in result.skipped] == ["notes.txt"]
    assert all(im.absolute_url.startswith("file:///") for im in coco.images)
    data = msgspec.json.encode(coco)
    report = validate_coco([CocoSource("out.json", data)], AnnotationKind.CLASSIFICATION, Purpose.TRAINING)
    assert report.valid, report.errors
    assert report.dataset.stats()["imagesPerCategory"] == {"apple": 2, "banana": 3}


def test_base_url_prefixes_the_path_under_root(tmp_path: Path) -> None:
    make_tree(tmp_path)
    coco = import_folder(tmp_path, base_url="https://acct.blob.core.windows.net/fruit/").coco
    urls = {im.absolute_url for im in coco.images}
    assert "https://acct.blob.core.windows.net/fruit/banana/nested/banana%202.jpg" in urls


def test_not_a_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        import_folder(tmp_path / "missing")
