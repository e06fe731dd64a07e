"""--check-images: every image opened, with real encoders and decoders."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tailor.coco import AnnotationKind, Purpose, check_image_bytes, check_images, quota_for
from tests.images import png_header_only

from .builders import check, classification

TRAIN = quota_for(AnnotationKind.CLASSIFICATION, Purpose.TRAINING)
EVAL = quota_for(AnnotationKind.CLASSIFICATION, Purpose.EVALUATION)


def encode_image(fmt: str, size=(64, 48), **options) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, fmt, **options)
    return buffer.getvalue()


def codes(result) -> list[str]:
    return [code.value for code, _, _ in result.problems]


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP", "WEBP", "TIFF"])
def test_accepted_formats_pass(fmt: str) -> None:
    result = check_image_bytes(encode_image(fmt), 64, 48, TRAIN)
    assert result.problems == ()
    assert result.format == fmt and (result.width, result.height) == (64, 48)


def test_ico_and_mpo_are_accepted() -> None:
    assert check_image_bytes(encode_image("ICO", (48, 48)), 48, 48, TRAIN).problems == ()
    first, second = Image.new("RGB", (64, 48), "red"), Image.new("RGB", (64, 48), "blue")
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[second])
    result = check_image_bytes(buffer.getvalue(), 64, 48, TRAIN)
    assert result.format == "MPO" and result.problems == ()


def test_other_formats_are_refused_by_name() -> None:
    result = check_image_bytes(encode_image("PPM"), 64, 48, TRAIN)
    assert codes(result) == ["imageFormatNotAllowed"]
    assert "PPM" in result.problems[0][2]


def test_garbage_and_truncated_images_do_not_decode() -> None:
    assert codes(check_image_bytes(b"this is not an image", 64, 48, TRAIN)) == ["imageUndecodable"]
    truncated = encode_image("PNG", (300, 300))[:200]
    assert codes(check_image_bytes(truncated, 300, 300, TRAIN)) == ["imageUndecodable"]


def test_declared_size_must_match_the_real_one() -> None:
    result = check_image_bytes(encode_image("PNG"), 640, 480, TRAIN)
    assert codes(result) == ["imageSizeMismatch"]
    assert "declared 640x480, but the image is 64x48" in result.problems[0][2]


def test_exif_rotated_images_may_declare_their_displayed_size() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90: shown as 48x64
    data = encode_image("JPEG", (64, 48), exif=exif.tobytes())
    assert check_image_bytes(data, 48, 64, TRAIN).problems == ()
    assert check_image_bytes(data, 64, 48, TRAIN).problems == ()


def test_real_size_is_held_to_the_purpose_bounds() -> None:
    data = encode_image("PNG", (40, 60))
    assert check_image_bytes(data, 40, 60, TRAIN).problems == ()
    assert codes(check_image_bytes(data, 40, 60, EVAL)) == ["imageTooSmall"]


def test_files_of_20_mb_or_more_are_refused_unread() -> None:
    assert codes(check_image_bytes(b"\0" * (20 * 1024 * 1024 + 1), 64, 48, TRAIN)) == ["imageFileTooLarge"]


@pytest.mark.parametrize("size", [(12_000, 12_000), (60_000, 60_000)])
def test_decompression_bombs_are_refused_without_decoding(size) -> None:
    data = png_header_only(*size)
    assert len(data) < 2000
    result = check_image_bytes(data, *size, TRAIN)
    assert codes(result) == ["decompressionBomb"]


def test_check_images_fetches_each_image_and_reports_with_paths() -> None:
    doc = classification(2, 2, side=64)
    report = check(doc)
    good = encode_image("PNG", (64, 64))
    store = {
        report.dataset.image_urls[0]: good,
        report.dataset.image_urls[1]: b"broken",
        report.dataset.image_urls[2]: encode_image("PNG", (32, 64)),
    }

    def fetch(url: str, limit: int) -> bytes:
        if url not in store:
            raise FileNotFoundError(f"no blob at {url}")
        return store[url][:limit]

    progress = []
    problems = check_images(report.dataset, fetch, Purpose.TRAINING, concurrency=3, on_progress=progress.append)
    found = {(p.code.value, p.path) for p in problems}
    assert found == {
        ("imageUndecodable", "images[1]"),
        ("imageSizeMismatch", "images[2].width"),
        ("imageUnreadable", "images[3]"),
    }
    assert sum(progress) == 4
    assert all(p.file == "train.json" for p in problems)
