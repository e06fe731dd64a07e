"""Local paths and file:// URIs: limits enforced while reading, and confinement to the data roots."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailor.blobs import BlobPolicy, BlobReader, read_blob, to_uri
from tailor.errors import BlobNotFound, BlobRefused, BlobTooLarge, BlobUnsupported


def test_local_path_and_file_uri(tmp_path: Path) -> None:
    target = tmp_path / "a b.json"
    target.write_bytes(b"{}")
    assert read_blob(str(target), max_bytes=10) == b"{}"
    assert read_blob(target.as_uri(), max_bytes=10) == b"{}"
    assert to_uri(str(target)) == target.as_uri()
    assert to_uri("https://h/x.json") == "https://h/x.json"


def test_missing_and_folder_and_scheme_errors(tmp_path: Path) -> None:
    with pytest.raises(BlobNotFound, match="no such file"):
        read_blob(str(tmp_path / "nope.json"), max_bytes=10)
    with pytest.raises(BlobUnsupported, match="folder"):
        read_blob(str(tmp_path), max_bytes=10)
    with pytest.raises(BlobUnsupported, match="scheme 'ftp'"):
        read_blob("ftp://host/file.json", max_bytes=10)
    with pytest.raises(BlobUnsupported, match="this machine"):
        read_blob("file://otherhost/share/file.json", max_bytes=10)


def test_size_limit_is_enforced_before_reading(tmp_path: Path) -> None:
    target = tmp_path / "big.bin"
    target.write_bytes(b"x" * 1000)
    with pytest.raises(BlobTooLarge) as info:
        read_blob(str(target), max_bytes=999)
    assert info.value.size == 1000 and info.value.limit == 999
    assert read_blob(str(target), max_bytes=10, truncate=True) == b"x" * 10


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """(a data root holding inside.json, a secret file next to the root)."""
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "inside.json").write_bytes(b"inside")
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"secret")
    return root, secret


def test_paths_inside_a_root_are_read(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    reader = BlobReader(BlobPolicy(data_roots=(root,), guard_addresses=True))
    inside = root / "sub" / "inside.json"
    assert reader.read(str(inside), max_bytes=100) == b"inside"
    assert reader.read(inside.as_uri(), max_bytes=100) == b"inside"
    assert reader.read(str(root / "sub" / ".." / "sub" / "inside.json"), max_bytes=100) == b"inside"
    (root / "link.json").symlink_to(inside)  # a symlink that stays inside the root is fine
    assert reader.read(str(root / "link.json"), max_bytes=100) == b"inside"


def test_paths_outside_the_roots_are_refused(layout: tuple[Path, Path]) -> None:
    root, secret = layout
    reader = BlobReader(BlobPolicy(data_roots=(root,), guard_addresses=True))
    (root / "escape.txt").symlink_to(secret)
    (root / "escape_dir").symlink_to(secret.parent)
    for location in (
        "file:///etc/passwd",
        "/etc/passwd",
        str(root / ".." / "secret.txt"),
        (root / "sub" / ".." / ".." / "secret.txt").as_uri(),
        str(root / "escape.txt"),
        str(root / "escape_dir" / "secret.txt"),
        str(secret.parent / "missing.txt"),  # refused, not "not found": a refusal reveals nothing
    ):
        with pytest.raises(BlobRefused, match="outside the allowed folders.*TAILOR_DATA_ROOTS"):
            reader.read(location, max_bytes=100)


def test_no_roots_means_no_local_reads(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    reader = BlobReader(BlobPolicy(data_roots=(), guard_addresses=True))
    with pytest.raises(BlobRefused, match="TAILOR_DATA_ROOTS names no folder"):
        reader.read(str(root / "sub" / "inside.json"), max_bytes=100)
