"""`tailor://` URIs: Tailor's own objects read through the same BlobReader as users' files, on both storages."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from tailor.blobs import Access, BlobPolicy, BlobReader, Storage, read_blob
from tailor.coco import AnnotationKind, ProblemCode, Purpose, check_images, validate_coco
from tailor.errors import BlobNotFound, BlobTooLarge, BlobUnsupported

# The service's policy at its strictest: no local paths at all, the address guard on, nothing allowed (the Azurite
# of the tests is on loopback), and no retries.
SERVICE = BlobPolicy(data_roots=(), guard_addresses=True, retries=0)


def _png(colour: tuple[int, int, int], side: int = 32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), colour).save(out, format="PNG")
    return out.getvalue()


def test_without_a_storage_tailor_uris_are_unsupported() -> None:
    with pytest.raises(BlobUnsupported, match="tailor:// URIs name objects in Tailor's own storage, which this reader"):
        BlobReader(SERVICE).read("tailor://projects/p/x.jpg", max_bytes=10)
    with pytest.raises(BlobUnsupported, match="Tailor's own storage"):
        read_blob("tailor://projects/p/x.jpg", max_bytes=10)  # the CLI has none


def test_reads_are_neither_confined_nor_guarded_but_limited(storage: Storage) -> None:
    storage.put("projects/p/a b.bin", b"x" * 100)
    reader = BlobReader(SERVICE, storage=storage)
    uri = storage.uri("projects/p/a b.bin")
    assert reader.read(uri, max_bytes=100) == b"x" * 100
    assert reader.read(uri.replace("tailor:", "TAILOR:"), max_bytes=100) == b"x" * 100
    with pytest.raises(BlobTooLarge) as info:
        reader.read(uri, max_bytes=99)
    assert info.value.size == 100
    assert reader.read(uri, max_bytes=3, truncate=True) == b"xxx"
    assert reader.image_fetcher(Access())(uri, 5) == b"xxxxx"
    with pytest.raises(BlobNotFound, match="tailor://projects/p/missing.bin"):
        reader.read("tailor://projects/p/missing.bin", max_bytes=100)


@pytest.mark.parametrize(
    "uri",
    [
        "tailor://", "tailor:///projects/x", "tailor://projects/../x", "tailor://a//b", "tailor://a?b", "tailor://a#b",
        "tailor://a%5Cb", "tailor://a%00b", "tailor:projects/x",
    ],
)
def test_uris_that_name_no_key(storage: Storage, uri: str) -> None:
    with pytest.raises(BlobUnsupported):
        BlobReader(SERVICE, storage=storage).read(uri, max_bytes=100)


def _snapshot(storage: Storage) -> str:
    """A training snapshot as the Custom Vision face will write one: uploaded images under the project, and a COCO
    file under the iteration naming them by absolute tailor:// URIs (coco_url, or absolute_url), and one by a
    reference relative to the file. Returns the file's URI."""
    images = []
    for i, (tag, colour) in enumerate([(1, (200, 0, 0)), (1, (190, 10, 0)), (2, (0, 0, 200)), (2, (0, 10, 190))]):
        key = f"projects/p/images/{i}.png"
        storage.put(key, _png(colour), "image/png")
        image = {"id": i + 1, "width": 32, "height": 32, "file_name": f"{i}.png"}
        field = ("coco_url", "absolute_url", "coco_url", "absolute_url")[i]
        image[field] = storage.uri(key) if i < 3 else "../../images/3.png"
        images.append((image, tag))
    document = {
        "images": [image for image, _ in images],
        "annotations": [{"id": i + 1, "image_id": i + 1, "category_id": tag} for i, (_, tag) in enumerate(images)],
        "categories": [{"id": 1, "name": "red"}, {"id": 2, "name": "blue"}],
    }
    key = "projects/p/iterations/i/train.json"
    storage.put(key, json.dumps(document).encode(), "application/json")
    return storage.uri(key)


def test_a_snapshot_validates_and_its_images_are_fetched(storage: Storage) -> None:
    reader = BlobReader(SERVICE, storage=storage)
    source = reader.annotation_file(_snapshot(storage), max_bytes=1 << 20)
    assert source.base_uri == "tailor://projects/p/iterations/i/train.json"
    report = validate_coco([source], AnnotationKind.CLASSIFICATION, Purpose.TRAINING)
    assert report.valid, report.errors
    assert report.dataset.image_urls == [f"tailor://projects/p/images/{i}.png" for i in range(4)]
    assert check_images(report.dataset, reader.image_fetcher(Access()), Purpose.TRAINING) == []
    assert reader.read(report.dataset.image_urls[3], max_bytes=1 << 20) == storage.get("projects/p/images/3.png")


def test_a_users_file_cannot_name_tailors_objects(tmp_path: Path, storage: Storage) -> None:
    # A dataset's file must not reach the objects Tailor keeps for others by naming their tailor:// URIs.
    storage.put("projects/p/images/0.png", _png((200, 0, 0)))
    document = {
        "images": [
            {"id": 1, "width": 32, "height": 32, "file_name": "0.png", "coco_url": "tailor://projects/p/images/0.png"}
        ],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1}],
        "categories": [{"id": 1, "name": "red"}],
    }
    (tmp_path / "user.json").write_text(json.dumps(document))
    reader = BlobReader(BlobPolicy(data_roots=(tmp_path,), guard_addresses=True), storage=storage)
    source = reader.annotation_file(str(tmp_path / "user.json"), max_bytes=1 << 20)
    report = validate_coco([source], AnnotationKind.CLASSIFICATION)
    assert [(p.code, p.path) for p in report.errors] == [(ProblemCode.INVALID_URL, "images[0].coco_url")]
    assert "only files Tailor stores there" in report.errors[0].message
