"""Tailor's own storage: one contract, held by files under a folder and by a container in a real Azurite."""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from tailor.blobs import AzureStorage, LocalStorage, Storage, _local_storage
from tailor.errors import BlobAccessDenied, BlobNotFound, BlobTooLarge, BlobUnreachable, BlobUnsupported

from ..azurite import Azurite

KEY = "projects/3f2b/images/9c1d.jpg"

BAD_KEYS = [
    "",
    "/projects/p/x.jpg",
    "projects/../x.jpg",
    "..",
    "projects/./x.jpg",
    "projects//x.jpg",
    "projects/p/",
    "projects\\p\\x.jpg",
    "projects/p/x\x00.jpg",
    "projects/p/x\n.jpg",
]


# The contract, for each implementation.


def test_put_get_exists_and_overwrite(storage: Storage) -> None:
    assert not storage.exists(KEY)
    storage.put(KEY, b"first", "image/jpeg")
    assert storage.exists(KEY)
    assert storage.get(KEY) == b"first"
    storage.put(KEY, b"second, longer")  # replaces it, content type or not
    assert storage.get(KEY) == b"second, longer"
    storage.put(KEY, b"")
    assert storage.get(KEY) == b"" and storage.exists(KEY)


def test_files_in_and_out(storage: Storage, tmp_path: Path) -> None:
    source = tmp_path / "weights.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 7))  # more than one chunk of a stream
    storage.put_file("models/m/weights.bin", source, "application/octet-stream")
    target = tmp_path / "copy.bin"
    target.write_bytes(b"something that is replaced")
    assert storage.get_file("models/m/weights.bin", target) == source.stat().st_size
    assert target.read_bytes() == source.read_bytes()
    source.write_bytes(b"")
    storage.put_file("models/m/weights.bin", source)  # replaced, empty or not
    assert storage.get_file("models/m/weights.bin", target) == 0 and target.read_bytes() == b""
    with pytest.raises(BlobNotFound):
        storage.get_file("models/m/nothing.bin", tmp_path / "nothing.bin")


def test_keys_are_names_not_folders(storage: Storage) -> None:
    storage.put("projects/p/images/a.jpg", b"a")
    assert not storage.exists("projects/p/images")  # a folder of keys is not an object
    with pytest.raises(BlobNotFound):
        storage.get("projects/p/images")
    storage.delete("projects/p/images")  # nothing there: fine, and a.jpg stays
    assert storage.get("projects/p/images/a.jpg") == b"a"


def test_unusual_characters_in_keys(storage: Storage) -> None:
    key = "projects/p/a b#c?d%20é.json"
    storage.put(key, b"odd")
    assert storage.get(key) == b"odd"
    assert storage.uri(key) == "tailor://projects/p/a%20b%23c%3Fd%2520%C3%A9.json"


def test_missing_objects(storage: Storage) -> None:
    # Azure: before the first put, the container does not exist yet; it is the same "not found".
    with pytest.raises(BlobNotFound, match=f"tailor://{KEY}: no such object"):
        storage.get(KEY)
    assert not storage.exists(KEY)
    storage.delete(KEY)  # missing is fine
    assert storage.delete_prefix("projects/3f2b") == 0
    storage.put("projects/other.bin", b"x")
    with pytest.raises(BlobNotFound):
        storage.get(KEY)
    storage.delete(KEY)


def test_delete(storage: Storage) -> None:
    storage.put(KEY, b"x")
    storage.put(KEY + ".thumb", b"y")
    storage.delete(KEY)
    assert not storage.exists(KEY)
    assert storage.get(KEY + ".thumb") == b"y"
    storage.delete(KEY)


def test_delete_prefix_takes_whole_folders_only(storage: Storage) -> None:
    keys = [f"projects/1/images/{i}.jpg" for i in range(5)] + ["projects/1/iterations/a/train.json"]
    others = ["projects/10/images/0.jpg", "projects/1.json", "projects/2/images/0.jpg"]
    for key in keys + others:
        storage.put(key, key.encode())
    assert storage.delete_prefix("projects/1/") == len(keys)
    assert not any(storage.exists(key) for key in keys)
    assert all(storage.get(key) == key.encode() for key in others)
    assert storage.delete_prefix("projects/1") == 0
    assert storage.delete_prefix("projects/2") == 1  # no trailing "/" means the same folder
    assert not storage.exists("projects/2/images/0.jpg")


@pytest.mark.slow
def test_delete_prefix_in_batches(storage: Storage) -> None:
    # More objects than one Azure blob batch takes (256).
    for i in range(300):
        storage.put(f"projects/many/{i:03}.bin", b"x")
    assert storage.delete_prefix("projects/many/") == 300
    assert not storage.exists("projects/many/000.bin")


@pytest.mark.parametrize("prefix", ["", "/", "/projects", "projects/../x", "projects//", "a\\b"])
def test_bad_prefixes(storage: Storage, prefix: str) -> None:
    with pytest.raises(ValueError, match="invalid storage prefix"):
        storage.delete_prefix(prefix)


def test_size_limit(storage: Storage) -> None:
    storage.put(KEY, b"x" * 5000)
    with pytest.raises(BlobTooLarge) as info:
        storage.get(KEY, max_bytes=4999)
    assert (info.value.size, info.value.limit) == (5000, 4999)
    assert storage.get(KEY, max_bytes=5000) == b"x" * 5000
    assert storage.get(KEY, max_bytes=7, truncate=True) == b"x" * 7
    storage.put(KEY, b"")
    assert storage.get(KEY, max_bytes=0) == b""


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused_before_any_io(storage: Storage, key: str) -> None:
    for call in (
        lambda: storage.put(key, b"x"),
        lambda: storage.get(key),
        lambda: storage.exists(key),
        lambda: storage.delete(key),
        lambda: storage.uri(key),
    ):
        with pytest.raises(ValueError, match="invalid storage key"):
            call()


def test_check_passes_on_a_usable_storage_before_and_after_the_first_put(storage: Storage) -> None:
    storage.check()  # a folder not made yet, a container not created yet: both are made on the first put
    storage.put(KEY, b"x")
    storage.check()
    assert storage.get(KEY) == b"x"


def test_uri_names_the_key(storage: Storage) -> None:
    assert storage.uri(KEY) == f"tailor://{KEY}"


# Files under a folder.


def _files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_local_put_leaves_no_temporary_files(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "storage")  # created on the first put
    storage.put(KEY, b"a")
    storage.put(KEY, b"b")
    storage.put("projects/3f2b/train.json", b"{}")
    assert _files(tmp_path / "storage") == ["projects/3f2b/images/9c1d.jpg", "projects/3f2b/train.json"]


def test_local_put_that_fails_midway_leaves_the_old_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = LocalStorage(tmp_path)
    storage.put(KEY, b"old contents")

    def half_then_fail(file, data: bytes) -> None:  # type: ignore[no-untyped-def]
        file.write(data[: len(data) // 2])
        file.flush()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_local_storage, "_write", half_then_fail)
    with pytest.raises(BlobUnreachable, match="No space left on device"):
        storage.put(KEY, b"new contents, never complete")

    def interrupted(file, data: bytes) -> None:  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(_local_storage, "_write", interrupted)
    with pytest.raises(KeyboardInterrupt):  # whatever stops it, the temporary file goes
        storage.put(KEY, b"new")
    assert storage.get(KEY) == b"old contents"
    assert _files(tmp_path) == [KEY]


def test_local_readers_never_see_half_an_object(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    versions = [bytes([value]) * (1 << 20) for value in b"ab"]
    storage.put(KEY, versions[0])
    done = threading.Event()

    def writer() -> None:
        for i in range(40):
            storage.put(KEY, versions[i % 2])
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while not done.is_set():
            assert storage.get(KEY) in versions
    finally:
        thread.join()


def test_local_a_key_cannot_be_an_object_and_a_folder(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("projects/p", b"object")
    with pytest.raises(BlobUnsupported, match="both an object and the folder"):
        storage.put("projects/p/x.jpg", b"x")
    storage.put("projects/q/x.jpg", b"x")
    with pytest.raises(BlobUnsupported, match="both an object and the folder"):
        storage.put("projects/q", b"object")
    assert storage.get("projects/q/x.jpg") == b"x" and _files(tmp_path) == ["projects/p", "projects/q/x.jpg"]


def test_local_check_fails_where_the_folder_cannot_be(tmp_path: Path) -> None:
    (tmp_path / "storage").write_text("a file where the folder should be")
    with pytest.raises(BlobUnsupported, match="tailor://"):
        LocalStorage(tmp_path / "storage").check()
    LocalStorage(tmp_path / "elsewhere").check()
    assert _files(tmp_path / "elsewhere") == []  # the probe leaves nothing behind


def test_local_delete_prefix_removes_the_folders(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("projects/p/images/a.jpg", b"a")
    storage.put("projects/p/iterations/1/train.json", b"{}")
    storage.put("projects/q/images/a.jpg", b"a")
    assert storage.delete_prefix("projects/p") == 2
    assert sorted(os.listdir(tmp_path / "projects")) == ["q"]


def test_local_os_errors_are_blob_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A folder the server may not write, shown by a refused rename: these tests may run as root, which writes any.
    def refused(source: str, target: str) -> None:
        raise PermissionError(13, "Permission denied")

    storage = LocalStorage(tmp_path)
    monkeypatch.setattr(_local_storage.os, "replace", refused)
    with pytest.raises(BlobAccessDenied, match=f"tailor://{KEY}: permission denied; the server's user"):
        storage.put(KEY, b"x")
    assert _files(tmp_path) == []


# A container in Azurite.


def _service(azurite: Azurite) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(azurite.connection_string)


def test_azure_creates_a_private_container_and_keeps_the_content_type(azurite: Azurite) -> None:
    container = f"own-{uuid.uuid4().hex[:12]}"
    storage = AzureStorage(azurite.connection_string, container, timeout_s=5, retries=1)
    with _service(azurite) as service:
        assert not service.get_container_client(container).exists()  # opening contacts nothing
        storage.put(KEY, b"jpeg bytes", "image/jpeg")
        storage.put("projects/3f2b/x.bin", b"bytes")
        client = service.get_container_client(container)
        assert client.get_container_properties().public_access is None
        assert client.get_blob_client(KEY).get_blob_properties().content_settings.content_type == "image/jpeg"
        default = client.get_blob_client("projects/3f2b/x.bin").get_blob_properties().content_settings.content_type
        assert default == "application/octet-stream"
    storage.close()


def test_azure_wrong_key_is_access_denied(azurite: Azurite) -> None:
    wrong = _with_a_wrong_key(azurite.connection_string)
    storage = AzureStorage(wrong, f"own-{uuid.uuid4().hex[:12]}", timeout_s=5, retries=0)
    with pytest.raises(BlobAccessDenied, match="HTTP 403.*TAILOR_STORAGE_CONNECTION_STRING holds a current key"):
        storage.put(KEY, b"x")
    with pytest.raises(BlobAccessDenied):
        storage.get(KEY)
    storage.close()


def test_azure_unreachable_account(azurite: Azurite) -> None:
    dead = azurite.connection_string.replace(azurite.host_port, "127.0.0.1:9")  # port 9 (discard): nothing listens
    storage = AzureStorage(dead, "own-dead", timeout_s=2, retries=0)
    with pytest.raises(BlobUnreachable, match="cannot connect to the storage account of container 'own-dead'"):
        storage.put(KEY, b"x")
    with pytest.raises(BlobUnreachable):
        storage.exists(KEY)
    storage.close()


def test_azure_check_of_an_unreachable_account_fails_at_once(azurite: Azurite) -> None:
    dead = azurite.connection_string.replace(azurite.host_port, "127.0.0.1:9")
    storage = AzureStorage(dead, "own-dead", timeout_s=30, retries=3)  # the check tries once, for 2 s at most
    started = time.monotonic()
    with pytest.raises(BlobUnreachable, match="cannot connect to the storage account of container 'own-dead'"):
        storage.check()
    assert time.monotonic() - started < 2.5
    storage.close()


def test_azure_check_with_a_wrong_key_is_access_denied(azurite: Azurite) -> None:
    wrong = _with_a_wrong_key(azurite.connection_string)
    storage = AzureStorage(wrong, f"own-{uuid.uuid4().hex[:12]}", timeout_s=5, retries=0)
    with pytest.raises(BlobAccessDenied, match="tailor://: access denied"):
        storage.check()
    storage.close()


@pytest.mark.parametrize("container", ["ab", "Upper", "-start", "end-", "two--hyphens", "under_score", "x" * 64])
def test_azure_container_names_are_checked(container: str) -> None:
    with pytest.raises(ValueError, match="not a valid container name"):
        AzureStorage("UseDevelopmentStorage=true", container)


def test_azure_malformed_connection_string_is_not_repeated() -> None:
    with pytest.raises(ValueError, match="connection string is malformed") as info:
        AzureStorage("not a connection string, secret-ish", "tailor")
    assert "secret-ish" not in str(info.value)


def _with_a_wrong_key(connection_string: str) -> str:
    """The connection string with another (well-formed) account key in place of Azurite's."""
    return connection_string.replace(connection_string.split("AccountKey=")[1].split(";")[0], "d3Jvbmc=" * 11)
