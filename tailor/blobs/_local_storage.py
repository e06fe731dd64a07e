"""Tailor's own objects as files under one folder (the embedded default's `<data dir>/storage`).

A put writes a temporary file beside the object, syncs it and renames it over the object: a rename within one
folder is atomic, so a reader opens the old file or the new one, and a crash leaves at worst a temporary file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from ..errors import BlobAccessDenied, BlobError, BlobNotFound, BlobTooLarge, BlobUnreachable, BlobUnsupported
from ._keys import ROOT_URI, check_key, check_prefix, own_uri

# Temporary files start with this, so that listing a folder can tell them from objects.
_TEMP_PREFIX = ".tailor-put-"
_CHUNK = 1 << 20


class LocalStorage:
    def __init__(self, root: Path):
        self.root = Path(root)

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        # Files have no content type; callers that need one know it from the key's extension.
        self._put(key, lambda file: _write(file, data))

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        def copy(file: BinaryIO) -> None:
            with open(path, "rb") as source:
                shutil.copyfileobj(source, file, _CHUNK)

        self._put(key, copy)

    def _put(self, key: str, write: Callable[[BinaryIO], None]) -> None:
        path = self._path(key)
        with _translated(self.uri(key)):
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX)
            try:
                with os.fdopen(handle, "wb") as file:
                    write(file)
                    file.flush()
                    os.fsync(file.fileno())  # the data is on disk before the name points at it
                os.replace(temp, path)
            except BaseException:
                with suppress(OSError):
                    os.unlink(temp)
                raise
            _sync_folder(path.parent)  # and the rename itself survives a crash

    def get(self, key: str, max_bytes: int | None = None, *, truncate: bool = False) -> bytes:
        path, uri = self._path(key), self.uri(key)
        with _translated(uri):
            try:
                with path.open("rb") as file:
                    size = os.fstat(file.fileno()).st_size
                    if max_bytes is None:
                        return file.read()
                    if size > max_bytes and not truncate:
                        raise BlobTooLarge(uri, max_bytes, size)
                    return file.read(max_bytes)
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                # A folder is where keys below it live, not an object: in a container it would not exist either.
                raise BlobNotFound(uri, "no such object") from None

    def get_file(self, key: str, path: Path) -> int:
        source, uri = self._path(key), self.uri(key)
        with _translated(uri):
            try:
                with source.open("rb") as file, open(path, "wb") as target:
                    shutil.copyfileobj(file, target, _CHUNK)
                    return target.tell()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                if not source.is_file():
                    raise BlobNotFound(uri, "no such object") from None
                raise

    def exists(self, key: str) -> bool:
        path = self._path(key)
        with _translated(self.uri(key)):
            return path.is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        with _translated(self.uri(key)), suppress(FileNotFoundError, NotADirectoryError, IsADirectoryError):
            path.unlink()  # nothing there is not an error

    def delete_prefix(self, prefix: str) -> int:
        folder = self.root / check_prefix(prefix)
        deleted = 0
        with _translated(own_uri(check_prefix(prefix)[:-1])):
            if not folder.is_dir():
                return 0
            for parent, folders, files in os.walk(folder, topdown=False):
                for name in files:
                    with suppress(FileNotFoundError):  # deleted meanwhile by someone else
                        os.unlink(os.path.join(parent, name))
                        deleted += not name.startswith(_TEMP_PREFIX)
                for name in folders:
                    with suppress(OSError):  # not empty: a put under the prefix is under way
                        os.rmdir(os.path.join(parent, name))
            with suppress(OSError):
                folder.rmdir()
        return deleted

    def check(self) -> None:
        # A file written and removed: the folder exists (or can be made) and takes writes, the disk has room.
        with _translated(ROOT_URI):
            self.root.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=self.root, prefix=_TEMP_PREFIX)
            try:
                os.write(handle, b"ok")
            finally:
                os.close(handle)
                os.unlink(temp)

    def uri(self, key: str) -> str:
        return own_uri(key)

    def close(self) -> None:
        pass

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))


def _write(file: BinaryIO, data: bytes) -> None:
    """One place the bytes go to the temporary file (the tests fail it midway)."""
    file.write(data)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def _translated(uri: str) -> Iterator[None]:
    """OS errors as Tailor's, naming the object."""
    try:
        yield
    except BlobError:
        raise
    except PermissionError:
        raise BlobAccessDenied(
            uri, "permission denied; the server's user must be able to read and write the storage folder"
        ) from None
    except (NotADirectoryError, FileExistsError, IsADirectoryError):
        # "a/b" cannot be a file where "a" is one, nor "a" where "a/b" is; in a container both could be.
        raise BlobUnsupported(uri, "a key cannot be both an object and the folder of other keys here") from None
    except OSError as exc:
        raise BlobUnreachable(uri, f"the storage folder failed ({exc.strerror or exc})") from None
