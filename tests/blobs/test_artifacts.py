"""The artifact store over each storage (files under a folder, a container in a real Azurite): uploads with their
manifest, checked local copies in a bounded cache shared by threads and processes, and the folders of a landed
database used where they are. The artifacts are real files of random bytes; no trained model is needed here."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import threading
from pathlib import Path

import pytest

from tailor.blobs import ArtifactStore, LocalStorage, Storage
from tailor.errors import BlobCorrupt, BlobNotFound

NAME = "models/fruit/attempt-1-3f2a9c1d"
MB = 1 << 20


def make_folder(root: Path, size: int = 4096, seed: int = 0) -> Path:
    """A model-like folder: weights, a config, and a report folder with a page and a plot."""
    folder = root / f"artifact-{seed}"
    (folder / "report").mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(os.urandom(size))
    (folder / "config.json").write_text(json.dumps({"seed": seed}))
    (folder / "report" / "report.json").write_text(json.dumps({"files": ["plot.png"]}))
    (folder / "report" / "plot.png").write_bytes(os.urandom(100))
    return folder


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def store(storage: Storage, tmp_path: Path, name: str = "host", max_bytes: int = 100 * MB) -> ArtifactStore:
    """An artifact store with a cache of its own, as another host would have."""
    return ArtifactStore(storage, tmp_path / name / "cache", max_bytes)


def test_an_upload_lands_under_its_name_with_a_manifest(storage: Storage, tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    assert store(storage, tmp_path).upload(folder, NAME) == NAME
    for relative, data in files_of(folder).items():
        assert storage.get(f"{NAME}/{relative}") == data
    manifest = json.loads(storage.get(f"{NAME}/manifest.json"))
    assert manifest["name"] == NAME and set(manifest["files"]) == set(files_of(folder))
    assert manifest["files"]["config.json"]["size"] == (folder / "config.json").stat().st_size


def test_another_host_with_an_empty_cache_gets_the_same_files_once(storage: Storage, tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    store(storage, tmp_path, "worker").upload(folder, NAME)
    api = store(storage, tmp_path, "api")
    assert not api.cache_dir.exists()
    with api.local_copy(NAME) as copy:
        assert files_of(copy) == files_of(folder)
        weights = (copy / "model.safetensors").stat()
    with api.local_copy(NAME) as again:  # the same copy: not downloaded again
        assert again == copy and (again / "model.safetensors").stat().st_ino == weights.st_ino


def test_a_damaged_or_half_written_copy_is_fetched_again(
    storage: Storage, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = make_folder(tmp_path)
    artifacts = store(storage, tmp_path)
    artifacts.upload(folder, NAME)
    with artifacts.local_copy(NAME) as copy:
        pass
    weights = copy / "model.safetensors"
    damaged = bytearray(weights.read_bytes())
    damaged[100] ^= 0xFF  # one bit-flipped byte: the same size, another sha256
    weights.write_bytes(bytes(damaged))
    with caplog.at_level(logging.WARNING, "tailor.blobs._artifacts"), artifacts.local_copy(NAME) as fixed:
        assert files_of(fixed) == files_of(folder)
    assert "damaged (model.safetensors differs from its manifest)" in caplog.text
    (copy / "report" / "plot.png").unlink()  # cut short
    with artifacts.local_copy(NAME) as fixed:
        assert files_of(fixed) == files_of(folder)


def test_an_object_damaged_in_the_storage_is_refused_never_used(storage: Storage, tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    artifacts = store(storage, tmp_path)
    artifacts.upload(folder, NAME)
    storage.put(f"{NAME}/model.safetensors", os.urandom(4096))  # same size, other bytes
    with pytest.raises(BlobCorrupt, match="model.safetensors: 4,096 bytes with sha256 .* its manifest records"):
        with artifacts.local_copy(NAME):
            pytest.fail("a damaged artifact was used")
    assert [p.name for p in artifacts.cache_dir.iterdir() if not p.name.endswith(".lock")] == []


def test_an_upload_cut_short_has_no_manifest_and_is_not_found(storage: Storage, tmp_path: Path) -> None:
    storage.put(f"{NAME}/model.safetensors", b"half")  # the uploader died before its manifest
    with pytest.raises(BlobNotFound, match="manifest.json"), store(storage, tmp_path).local_copy(NAME):
        pytest.fail("an incomplete artifact was used")


def test_the_bound_evicts_the_least_recently_used_copy_not_in_use(storage: Storage, tmp_path: Path) -> None:
    worker = store(storage, tmp_path, "worker")
    names = [f"models/m{k}/attempt-1-0000000{k}" for k in range(4)]
    for k, name in enumerate(names):
        worker.upload(make_folder(tmp_path, size=MB, seed=k), name)
    api = store(storage, tmp_path, "api", max_bytes=int(2.5 * MB))  # room for two

    def cached() -> set[str]:
        return {json.loads((p / ".manifest.json").read_text())["name"] for p in api.cache_dir.iterdir() if p.is_dir()}

    for name in names[:2]:
        with api.local_copy(name):
            pass
    with api.local_copy(names[0]):  # m0 used again: m1 is now the least recently used
        pass
    with api.local_copy(names[2]):
        pass
    assert cached() == {names[0], names[2]}
    with api.local_copy(names[0]):  # in use: m2 goes, though m0 was used longer ago
        with api.local_copy(names[3]):
            assert cached() == {names[0], names[3]}
    with api.local_copy(names[1]) as copy:  # evicted earlier: fetched again, whole
        assert files_of(copy) == files_of(tmp_path / "artifact-1")


def test_a_copy_over_the_bound_on_its_own_is_still_used(storage: Storage, tmp_path: Path) -> None:
    store(storage, tmp_path, "worker").upload(make_folder(tmp_path, size=2 * MB), NAME)
    api = store(storage, tmp_path, "api", max_bytes=MB)
    with api.local_copy(NAME) as copy:
        assert (copy / "model.safetensors").stat().st_size == 2 * MB


def test_threads_asking_at_once_share_one_download(storage: Storage, tmp_path: Path) -> None:
    store(storage, tmp_path, "worker").upload(make_folder(tmp_path, size=MB), NAME)
    api = store(storage, tmp_path, "api")
    seen: list[int] = []

    def use() -> None:
        with api.local_copy(NAME) as copy:
            seen.append((copy / "model.safetensors").stat().st_ino)

    threads = [threading.Thread(target=use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 6 and len(set(seen)) == 1


def _copy_in_child(root: str, cache: str, name: str, queue) -> None:
    artifacts = ArtifactStore(LocalStorage(Path(root)), Path(cache), 100 * MB)
    with artifacts.local_copy(name) as copy:
        queue.put((copy / "model.safetensors").stat().st_ino)


def test_processes_sharing_a_cache_share_its_copies(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "storage")
    store(storage, tmp_path, "worker").upload(make_folder(tmp_path, size=MB), NAME)
    spawn = multiprocessing.get_context("spawn")
    queue = spawn.Queue()
    children = [spawn.Process(target=_copy_in_child, args=(str(storage.root), str(tmp_path / "api"), NAME, queue))
                for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    assert [child.exitcode for child in children] == [0, 0, 0]
    assert len({queue.get(timeout=5) for _ in children}) == 1


def test_delete_removes_the_objects_and_the_local_copies(storage: Storage, tmp_path: Path) -> None:
    artifacts = store(storage, tmp_path)
    artifacts.upload(make_folder(tmp_path), NAME)
    artifacts.upload(make_folder(tmp_path, seed=1), "models/fruit/evaluations/e/attempt-1")
    artifacts.upload(make_folder(tmp_path, seed=2), "models/fruit-2/attempt-1-00000000")
    with artifacts.local_copy(NAME):
        pass
    artifacts.delete("models/fruit")
    assert not storage.exists(f"{NAME}/manifest.json")
    assert not storage.exists("models/fruit/evaluations/e/attempt-1/report/report.json")
    assert storage.exists("models/fruit-2/attempt-1-00000000/manifest.json")  # whole parts only
    assert [p for p in artifacts.cache_dir.iterdir()] == []
    with pytest.raises(BlobNotFound), artifacts.local_copy(NAME):
        pass


def test_read_one_file_from_the_storage(storage: Storage, tmp_path: Path) -> None:
    artifacts = store(storage, tmp_path)
    artifacts.upload(make_folder(tmp_path), NAME)
    assert json.loads(artifacts.read(f"{NAME}/report", "report.json")) == {"files": ["plot.png"]}
    with pytest.raises(BlobNotFound):
        artifacts.read(f"{NAME}/report", "nothing.png")
    with pytest.raises(ValueError, match="invalid file name"):
        artifacts.read(f"{NAME}/report", "../config.json")


def test_a_landed_folder_is_used_where_it_is(storage: Storage, tmp_path: Path) -> None:
    # What the database of a Tailor from before the artifact store holds: the absolute path of the folder.
    folder = make_folder(tmp_path / "data" / "models" / "fruit")
    artifacts = store(storage, tmp_path)
    with artifacts.local_copy(str(folder)) as copy:
        assert copy == folder
    assert artifacts.read(str(folder / "report"), "plot.png") == (folder / "report" / "plot.png").read_bytes()
    with pytest.raises(BlobNotFound):
        artifacts.read(str(folder), "nothing.json")
    artifacts.delete(str(folder.parent))
    assert not folder.exists() and not artifacts.cache_dir.exists()


def test_names_are_checked(tmp_path: Path) -> None:
    artifacts = store(LocalStorage(tmp_path / "storage"), tmp_path)
    for bad in ("", "models/../x", "models//x"):
        with pytest.raises(ValueError, match="invalid storage prefix"):
            artifacts.upload(make_folder(tmp_path, seed=len(bad)), bad)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="holds no files"):
        artifacts.upload(empty, NAME)
