"""Converted weights files: `<weights_dir>/<name>.safetensors`, written atomically, with enough metadata to tell a
good file from a truncated, corrupted, stale or foreign one without trusting its name."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import safetensors
import safetensors.torch
import torch

from ...files import staged_file
from ._convert import TensorSpec

FORMAT = "tailor.backbone-weights/1"


def weights_path(weights_dir: Path, name: str) -> Path:
    return weights_dir / f"{name}.safetensors"


def write_weights(path: Path, tensors: Mapping[str, torch.Tensor], *, source: str, source_sha256: str) -> None:
    """Writes through a temporary file in the same folder and renames it over `path`, so that a reader (or a crash)
    never sees half a file."""
    metadata = {"format": FORMAT, "source": source, "source_sha256": source_sha256, "digest": tensor_digest(tensors)}
    with staged_file(path) as staging:
        safetensors.torch.save_file(dict(tensors), str(staging), metadata=metadata)


def check_weights(path: Path, layout: Mapping[str, TensorSpec]) -> tuple[str | None, Mapping[str, str]]:
    """(None, metadata) for a sound file holding exactly `layout`; otherwise (why not, as "<path> ...", {})."""
    if not path.is_file():
        return "is missing", {}
    try:
        with safetensors.safe_open(path, "pt") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
    except (safetensors.SafetensorError, OSError, ValueError) as e:
        return f"is unreadable ({e})", {}
    if metadata.get("format") != FORMAT:
        return "was not written by this version of Tailor", {}
    got = {name: TensorSpec(tuple(t.shape), t.dtype) for name, t in tensors.items()}
    if got != dict(layout):
        return "does not hold the tensors of the model", {}
    # Truncation breaks the header check above; a flipped byte inside the data only shows here.
    if metadata.get("digest") != tensor_digest(tensors):
        return "is corrupted (its tensors differ from the digest recorded when it was written)", {}
    return None, metadata


def tensor_digest(tensors: Mapping[str, torch.Tensor]) -> str:
    """sha256 over names, dtypes, shapes and bytes, in name order: independent of how the file lays them out."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{list(tensor.shape)}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().data)
    return digest.hexdigest()
