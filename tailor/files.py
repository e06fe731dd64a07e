"""Files and folders written whole or not at all: through a staging file or folder beside the target, renamed over it
when the writing ends, and removed when it fails. A reader, or a crash, never sees half a file under the target's
name, and no staging litter stays behind.

    with staged_file(path) as staging:       # write staging however you like (torch, safetensors, json, ...)
        save(staging)
    write_whole(path, data)                  # bytes or text, the common case
    with staged_folder(directory) as staging:
        (staging / "weights.safetensors").write_bytes(...)

A staging file is private to this user (mode 0600) and a staging folder too (0700), as the target then is: callers
that share what they write widen it themselves. Tailor's own storage on disk (`blobs/_local_storage.py`) also syncs
each file and its folder to the disk, and a report's folder replaces an older one in two steps
(`reports/_files.py`): both keep their own, stricter, writes. May import: nothing else of Tailor.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_file(path: Path) -> Iterator[Path]:
    """A new empty file beside `path` to write; renamed over `path` when the block ends, removed if it raises."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(descriptor)
    staging = Path(name)
    try:
        yield staging
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)


def write_whole(path: Path, data: bytes | str) -> Path:
    """`data` written at `path` through a staging file (text as UTF-8)."""
    with staged_file(path) as staging:
        staging.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@contextmanager
def staged_folder(directory: Path) -> Iterator[Path]:
    """A new empty folder beside `directory` to fill; renamed to `directory` when the block ends (which must not
    exist, or be empty), removed with its contents if the block raises."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        yield staging
        os.replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
