"""Exports: a succeeded model as one ONNX file (`tailor.automl.export`), made on its first request and kept in
Tailor's storage in the model's folder, so that every replica and every later request (the REST download, the
CLI, Custom Vision's export_iteration) serves the same file, and deleting the model deletes its exports.

    exports = ExportService(store, artifacts, work_dir)
    data = exports.onnx("fruit")          # bytes of fruit's ONNX file; made and kept first when needed
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .datasets import check_name
from .enums import ExportFormat, ModelStatus
from .errors import BlobNotFound, InvalidInput
from .models import ModelNotReady, model_folder

if TYPE_CHECKING:
    from .blobs import ArtifactStore
    from .store import Store

log = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"


def export_location(model_name: str, artifact: str, export_format: ExportFormat) -> str:
    """Where a model attempt's export is kept: one per attempt (a model made again under the same name has another
    artifact, so another export)."""
    attempt = hashlib.sha256(artifact.encode()).hexdigest()[:16]
    return f"{model_folder(model_name)}/exports/{attempt}-{export_format.value}"


def parse_format(value: str) -> ExportFormat:
    try:
        return ExportFormat(value.lower())
    except ValueError:
        known = ", ".join(f.value for f in ExportFormat)
        raise InvalidInput(f"format {value!r} is not offered: use one of {known}", target="format") from None


class ExportService:
    def __init__(self, store: Store, artifacts: ArtifactStore, work_dir: Path):
        self._store = store
        self._artifacts = artifacts
        self._work_dir = work_dir
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def onnx(self, name: str) -> bytes:
        """The model's ONNX file. NotFound (404); ModelNotReady (409) unless its training succeeded."""
        model = self._store.models.get(check_name(name, "model"))
        if model.status is not ModelStatus.SUCCEEDED or not model.artifact:
            raise ModelNotReady(model.name, model.status, use="be exported")
        return self.onnx_of(model.name, str(model.artifact))

    def onnx_of(self, name: str, artifact: str) -> bytes:
        """The ONNX file of the model `name` trained into `artifact` (what analyze runs with ONNX Runtime)."""
        location = export_location(name, artifact, ExportFormat.ONNX)
        with self._lock(location):  # one export at a time per model in this process; others wait for its file
            try:
                return self._read(location)
            except BlobNotFound:  # not made yet (or its upload never finished: no manifest)
                pass
            self._make(name, artifact, location)
            return self._read(location)

    def _read(self, location: str) -> bytes:
        """The file from this host's checked copy of the export (whole, as its manifest says), fetched once."""
        with self._artifacts.local_copy(location) as folder:
            return (folder / ONNX_FILE).read_bytes()

    def _make(self, name: str, artifact: str, location: str) -> None:
        from .automl.export import export_onnx  # torch: loaded by the first export, not when the API starts

        self._work_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self._work_dir, prefix="export-") as staging:
            with self._artifacts.local_copy(artifact) as folder:
                export_onnx(folder, Path(staging) / ONNX_FILE, model_name=name)
            self._artifacts.upload(Path(staging), location)
        log.info("model %s exported to ONNX (%s)", name, location)

    def _lock(self, location: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(location, threading.Lock())
