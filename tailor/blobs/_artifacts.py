"""Artifacts: folders of files (a trained model with its report and held-out predictions, an evaluation's report)
kept in Tailor's storage under one name, and checked local copies of them for the processes that need the files on
their own disk (an API replica loading a model, the evaluation job).

    artifacts = ArtifactStore(storage, data_dir / "cache" / "artifacts", max_bytes=10 << 30)
    artifacts.upload(folder, "models/fruit/attempt-1-3f2a9c1d")               # the worker, once trained
    with artifacts.local_copy("models/fruit/attempt-1-3f2a9c1d") as folder:   # any host, later
        predictor = load_model(folder)
    artifacts.read("models/fruit/attempt-1-3f2a9c1d/report", "report.json")  # one file, from the storage
    artifacts.delete("models/fruit")                                          # its objects, and this host's copies

An upload puts every file, then `manifest.json` with each file's size and sha256, last: an artifact without its
manifest was never whole (its uploader died midway) and is never downloaded.

Local copies live in one cache folder per data directory, shared by the processes that use it (a file lock per
artifact: shared while a copy is used, exclusive while it is fetched or removed). An artifact is downloaded once, into
a temporary folder that is renamed into place only when every file matches the manifest; a file that does not match
is fetched again, and one that still does not is refused (BlobCorrupt), never used. Every use checks each file of the
copy again (size and sha256), so a copy damaged on disk, or left half-written, is fetched anew. The cache keeps to
`max_bytes`: the least recently used copies that no one holds go first (the copy being used stays, even alone over
the bound).

A location is a name (a `/`-separated prefix of keys, what the database keeps), or an absolute path: what the
database of a Tailor from before the artifact store holds. Such a folder is used where it is, without a manifest, a
copy or a check, so that the models of a landed database keep serving.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Self

from ..errors import BlobCorrupt, BlobNotFound, BlobUnreachable
from ._keys import check_prefix, key_problem, own_uri
from ._storage import Storage

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
_COPY_MANIFEST = ".manifest.json"  # in a local copy: the manifest it was checked against, written last
_MANIFEST_LIMIT = 16 << 20
_FETCH_TRIES = 2  # downloads of a file that does not match its manifest, before it is refused
_READY_TRIES = 3  # a copy evicted by another process between its fetch and its use is fetched again
_STALE_TEMPORARY_S = 6 * 3600  # a download folder this old was left by a process that died
_CHUNK = 1 << 20
_CONTENT_TYPES = MappingProxyType({
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
})


def is_landed(location: str) -> bool:
    """True for a folder named by its absolute path (a row written before the artifact store), not by a name."""
    return os.path.isabs(location)


def within(location: str, relative: str) -> str:
    """The location of `relative` (`report`, ...) inside the artifact at `location`."""
    return str(Path(location, relative)) if is_landed(location) else f"{location}/{relative}"


@dataclass(frozen=True)
class Manifest:
    name: str
    files: Mapping[str, tuple[int, str]]  # relative path -> (size in bytes, sha256 in hex)

    @property
    def size(self) -> int:
        return sum(size for size, _ in self.files.values())

    def to_json(self) -> bytes:
        files = {path: {"size": size, "sha256": digest} for path, (size, digest) in sorted(self.files.items())}
        return json.dumps({"manifestVersion": MANIFEST_VERSION, "name": self.name, "files": files}).encode()

    @classmethod
    def parse(cls, data: bytes, uri: str) -> Manifest:
        """BlobCorrupt when `data` is no manifest this Tailor reads."""
        try:
            body = json.loads(data)
            if body["manifestVersion"] != MANIFEST_VERSION:
                raise BlobCorrupt(uri, f"manifest version {body['manifestVersion']!r}, not {MANIFEST_VERSION}")
            files = {str(path): (int(entry["size"]), str(entry["sha256"])) for path, entry in body["files"].items()}
            name = str(body["name"])
        except BlobCorrupt:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BlobCorrupt(uri, f"not a manifest ({type(exc).__name__}: {exc})") from None
        for path in files:
            if key_problem(path) is not None or path == _COPY_MANIFEST:
                raise BlobCorrupt(uri, f"the manifest names a file {path!r} that no artifact holds")
        return cls(name, MappingProxyType(files))


class ArtifactStore:
    """Thread-safe, and safe to share a cache folder between processes."""

    def __init__(self, storage: Storage, cache_dir: Path, max_bytes: int):
        self.storage = storage
        self.cache_dir = Path(cache_dir)
        self.max_bytes = max_bytes

    # Upload, read, delete -------------------------------------------------------------------------------------

    def upload(self, folder: Path, name: str) -> str:
        """Every file under `folder` as `<name>/<relative path>`, then `<name>/manifest.json`; returns `name`."""
        check_prefix(name)
        folder = Path(folder)
        files: dict[str, tuple[int, str]] = {}
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder).as_posix()
            if relative == MANIFEST:
                raise ValueError(f"{path}: an artifact cannot hold a file named {MANIFEST} at its top")
            files[relative] = _digest(path)
            self.storage.put_file(f"{name}/{relative}", path, _CONTENT_TYPES.get(path.suffix.lower()))
        if not files:
            raise ValueError(f"{folder} holds no files to upload")
        manifest = Manifest(name, files)
        self.storage.put(f"{name}/{MANIFEST}", manifest.to_json(), "application/json")
        log.info("artifact %s stored (%d files, %.1f MB)", name, len(files), manifest.size / 1e6)
        return name

    def read(self, location: str, relative: str) -> bytes:
        """One file of an artifact, read from the storage (a landed folder: from its file). BlobNotFound when there
        is none."""
        problem = key_problem(relative)
        if problem is not None:
            raise ValueError(f"invalid file name {relative!r} in an artifact: {problem}")
        if not is_landed(location):
            return self.storage.get(f"{location}/{relative}")
        path = Path(location, relative)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise BlobNotFound(str(path), "no such file") from None

    def delete(self, location: str) -> None:
        """Every object under the name `location` (an artifact, or a folder of artifacts: "models/fruit"), and this
        host's copies of them that are not in use; a landed folder is removed. Other hosts' copies go as their
        least recently used."""
        if is_landed(location):
            shutil.rmtree(location, ignore_errors=True)
            return
        prefix = check_prefix(location)
        self.storage.delete_prefix(prefix)
        for copy, manifest in self._copies():
            if manifest is not None and (manifest.name + "/").startswith(prefix):
                self._remove_unless_used(copy)

    # Local copies ---------------------------------------------------------------------------------------------

    @contextmanager
    def local_copy(self, location: str) -> Iterator[Path]:
        """The folder of a checked local copy of the artifact, downloaded first when this host has none (or a
        damaged one); it is not evicted while the block runs. BlobNotFound when the artifact is not in the storage
        (or has no manifest), BlobCorrupt when its objects do not match their manifest."""
        if is_landed(location):
            yield Path(location)
            return
        check_prefix(location)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        copy = self.cache_dir / hashlib.sha256(location.encode()).hexdigest()[:32]
        with _FileLock(_lock_path(copy)) as lock:
            self._ready(location, copy, lock)
            yield copy

    def _ready(self, location: str, copy: Path, lock: _FileLock) -> None:
        """Returns holding `lock` shared, with `copy` whole and checked."""
        fetched = False
        for _ in range(_READY_TRIES):
            lock.shared()
            # A copy this call has just fetched and checked needs only to be still there.
            if self._intact(location, copy, check_contents=not fetched) is not None:
                lock.touch()  # its last use, for the eviction order
                self._evict(keep=copy)
                return
            lock.exclusive()
            if self._intact(location, copy, check_contents=True) is None:  # not fetched meanwhile by another
                self._fetch(location, copy)
            lock.touch()
            fetched = True
        raise BlobUnreachable(own_uri(location), "its local copy was evicted as soon as it was fetched; raise the "
                                                 "cache's bound (TAILOR_ARTIFACT_CACHE_MB)")

    def _intact(self, location: str, copy: Path, *, check_contents: bool) -> Manifest | None:
        """The manifest of `copy` when every file it lists is there with its size (and, when `check_contents`, its
        sha256), else None: a copy that is missing, half-written or damaged."""
        try:
            manifest = Manifest.parse((copy / _COPY_MANIFEST).read_bytes(), str(copy))
        except (OSError, BlobCorrupt):
            return None
        for relative, (size, digest) in manifest.files.items():
            path = copy / relative
            try:
                whole = path.stat().st_size == size and (not check_contents or _digest(path) == (size, digest))
            except OSError:
                whole = False
            if not whole:
                log.warning("the local copy of %s is damaged (%s differs from its manifest): fetched again",
                            location, relative)
                return None
        return manifest

    def _fetch(self, location: str, copy: Path) -> None:
        """Download the artifact into a temporary folder, check it, and put it in place of `copy`."""
        key = f"{location}/{MANIFEST}"
        manifest = Manifest.parse(self.storage.get(key, _MANIFEST_LIMIT), self.storage.uri(key))
        if manifest.name != location:
            raise BlobCorrupt(self.storage.uri(key), f"the manifest is that of {manifest.name!r}")
        self._evict(keep=copy, incoming=manifest.size)
        started = time.monotonic()
        staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=self.cache_dir))
        try:
            for relative, expected in manifest.files.items():
                target = staging / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                self._fetch_file(f"{location}/{relative}", target, expected)
            (staging / _COPY_MANIFEST).write_bytes(manifest.to_json())  # last: the copy is whole
            staging.chmod(0o755)  # mkdtemp makes it private to this user
            _discard(copy)  # a damaged copy, if any (no one holds it: this process holds the lock exclusively)
            staging.rename(copy)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        log.info("artifact %s copied from the storage (%.1f MB in %.1f s)", location, manifest.size / 1e6,
                 time.monotonic() - started)

    def _fetch_file(self, key: str, target: Path, expected: tuple[int, str]) -> None:
        for _ in range(_FETCH_TRIES):
            self.storage.get_file(key, target)
            found = _digest(target)
            if found == expected:
                return
            log.warning("%s did not match its manifest when downloaded: downloading it again", self.storage.uri(key))
        raise BlobCorrupt(
            self.storage.uri(key),
            f"{found[0]:,} bytes with sha256 {found[1][:16]}..., where its manifest records {expected[0]:,} bytes "
            f"with sha256 {expected[1][:16]}...: the artifact is damaged in the storage; train the model again",
        )

    # The bound ------------------------------------------------------------------------------------------------

    def _evict(self, keep: Path, incoming: int = 0) -> None:
        """Remove the least recently used copies no one holds (never `keep`) until the cache, with `incoming`
        bytes more, is within its bound."""
        copies = []
        for copy, manifest in self._copies():
            size = manifest.size if manifest is not None else _folder_size(copy)
            copies.append((_last_used(copy), copy, size))
        total = incoming + sum(size for _, _, size in copies)
        for _, copy, size in sorted(copies, key=lambda c: c[0]):
            if total <= self.max_bytes:
                return
            if copy != keep and self._remove_unless_used(copy):
                total -= size
                log.info("local copy %s evicted (%.1f MB) to keep the cache within %.0f MB", copy.name, size / 1e6,
                         self.max_bytes / 1e6)

    def _copies(self) -> list[tuple[Path, Manifest | None]]:
        """The copies in the cache, with their manifests (None: damaged or half-removed); what dead processes left
        behind (old download folders, removals cut short) goes on the way."""
        found = []
        try:
            children = list(self.cache_dir.iterdir())
        except FileNotFoundError:
            return []
        for child in children:
            if child.name.startswith(".discard-"):
                shutil.rmtree(child, ignore_errors=True)
            elif child.name.startswith(".fetch-"):
                with suppress(OSError):
                    if time.time() - child.stat().st_mtime > _STALE_TEMPORARY_S:
                        shutil.rmtree(child, ignore_errors=True)
            elif child.is_dir():
                try:
                    manifest = Manifest.parse((child / _COPY_MANIFEST).read_bytes(), str(child))
                except (OSError, BlobCorrupt):
                    manifest = None
                found.append((child, manifest))
        return found

    def _remove_unless_used(self, copy: Path) -> bool:
        with _FileLock(_lock_path(copy)) as lock:
            if not lock.try_exclusive():
                return False  # in use, or being fetched
            _discard(copy)
            lock.remove()
        return True


class _FileLock:
    """An flock on the file beside a copy. Whoever removes a copy removes its lock file too, while holding it: a
    lock taken on a file that is no longer at its path is let go and taken again on the new file."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # which lets the lock go
            self._fd = None

    def shared(self) -> None:
        self._take(fcntl.LOCK_SH)

    def exclusive(self) -> None:
        self._take(fcntl.LOCK_EX)  # from shared: let go, then waited for (flock converts so)

    def try_exclusive(self) -> bool:
        return self._take(fcntl.LOCK_EX | fcntl.LOCK_NB)

    def touch(self) -> None:
        os.utime(self.path)

    def remove(self) -> None:
        with suppress(FileNotFoundError):
            os.unlink(self.path)

    def _take(self, operation: int) -> bool:
        while True:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(self._fd, operation)
            except BlockingIOError:
                return False
            try:
                current = os.fstat(self._fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                current = False
            if current:
                return True
            os.close(self._fd)
            self._fd = None


def _lock_path(copy: Path) -> Path:
    return copy.with_name(copy.name + ".lock")


def _last_used(copy: Path) -> float:
    try:
        return _lock_path(copy).stat().st_mtime
    except OSError:
        return 0.0  # no lock file: never used since it was left behind


def _discard(copy: Path) -> None:
    """Rename the copy aside, then remove it: a crash midway leaves a `.discard-` folder, never half a copy."""
    aside = copy.with_name(f".discard-{uuid.uuid4().hex[:12]}")
    try:
        copy.rename(aside)
    except FileNotFoundError:
        return
    shutil.rmtree(aside, ignore_errors=True)


def _folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _digest(path: Path) -> tuple[int, str]:
    """(size, sha256) of a file."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
