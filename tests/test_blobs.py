"""The blob reader: local paths, file:// URIs and http(s) URLs, with limits enforced while reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailor.blobs import read_blob, to_uri
from tailor.errors import BlobNotFound, BlobTooLarge, BlobUnreachable, BlobUnsupported


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


def test_size_limit_is_enforced_before_reading(tmp_path: Path) -> None:
    target = tmp_path / "big.bin"
    target.write_bytes(b"x" * 1000)
    with pytest.raises(BlobTooLarge) as info:
        read_blob(str(target), max_bytes=999)
    assert info.value.size == 1000 and info.value.limit == 999
    assert read_blob(str(target), max_bytes=10, truncate=True) == b"x" * 10


def test_http_reads_and_maps_statuses(http_folder) -> None:
    base, root = http_folder
    (root / "x.json").write_bytes(b'{"a": 1}')
    (root / "big.bin").write_bytes(b"y" * 5000)
    assert read_blob(base + "x.json", max_bytes=100) == b'{"a": 1}'
    with pytest.raises(BlobNotFound, match="404"):
        read_blob(base + "missing.json", max_bytes=100)
    with pytest.raises(BlobTooLarge):
        read_blob(base + "big.bin", max_bytes=4999)
    assert read_blob(base + "big.bin", max_bytes=10, truncate=True) == b"y" * 10


def test_unreachable_host_is_a_clear_error() -> None:
    with pytest.raises(BlobUnreachable, match="cannot connect"):
        read_blob("http://127.0.0.1:9/x.json", max_bytes=100)  # port 9 (discard): nothing listens
