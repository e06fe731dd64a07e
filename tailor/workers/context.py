"""What a job needs, built from Settings in the process that runs it (a child process or an arq worker)."""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..automl.devices import DevicePool, resolve_devices
from ..automl.failures import TrainingFailed
from ..blobs import ArtifactStore, BlobPolicy, BlobReader, Storage, open_storage
from ..datasets import DatasetService
from ..enums import FailureCode
from ..errors import BlobError
from ..evaluations import evaluation_folder
from ..models import model_folder
from ..secrets import SecretBox, resolve_secret_box
from ..settings import Settings
from ..store import Store

log = logging.getLogger(__name__)


@dataclass
class JobContext:
    settings: Settings
    lane: int | None = None  # the in-process runner's job slot (DevicePool.lend)
    # Queues the jobs that ask other workers to join a training: (model name, attempt, study name). Only arq workers
    # have one (tailor.workers.joining_job).
    invite: Callable[[str, int, str], None] | None = None
    # Resolved when the context is made, that is when a process starts: one at scale without TAILOR_SECRET_KEY
    # refuses to start (SecretKeyError) instead of failing its first private dataset.
    secrets: SecretBox = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.secrets = resolve_secret_box(self.settings)

    @cached_property
    def store(self) -> Store:
        store = Store.connect(self.settings.resolved_database_url, self.secrets)
        try:
            store.datasets.check_secrets()  # a wrong key stops the process here, not on every request
        except Exception:
            store.close()
            raise
        return store

    @cached_property
    def study_storage(self) -> str:
        """The Optuna storage URL (the metadata database). Optuna creates its tables on first use, and two workers
        doing so at once on one PostgreSQL fail (optuna#4621): each process prepares them once, under the lock."""
        from ..automl.studies import prepare_study_storage  # optuna loads where trainings run

        url = self.settings.resolved_database_url
        with self.store.exclusively():
            prepare_study_storage(url)
        return url

    @cached_property
    def storage(self) -> Storage:
        """Tailor's own storage: a container at scale, `<data dir>/storage` on the embedded default."""
        return open_storage(self.settings)

    @cached_property
    def artifacts(self) -> ArtifactStore:
        """Trained models and reports in that storage, with this host's checked copies of models under
        `<data dir>/cache/artifacts` (TAILOR_ARTIFACT_CACHE_MB at most)."""
        cache = self._data_dir / "cache" / "artifacts"
        return ArtifactStore(self.storage, cache, self.settings.artifact_cache_mb * 1024 * 1024)

    @cached_property
    def reader(self) -> BlobReader:
        return BlobReader(BlobPolicy.from_settings(self.settings), storage=self.storage)

    @cached_property
    def datasets(self) -> DatasetService:
        return DatasetService(self.store, self.reader, self.settings.max_annotation_bytes)

    @cached_property
    def device_pool(self) -> DevicePool:
        """TAILOR_DEVICES, shared by the trainings this process runs at once."""
        return DevicePool(resolve_devices(self.settings.devices), self.settings.trainings_per_device)

    @property
    def weights_dir(self) -> Path:
        return self.settings.data_dir / "weights"

    def prepare_weights(self) -> None:
        """The bundled backbones' weights and the operator's (TAILOR_BACKBONES), converted into `weights_dir` once;
        a mistake in the setting fails the training with a message saying what to fix."""
        from ..automl.backbones import BACKBONES, BackboneWeightsError, parse_backbones, prepare_weights

        try:
            operator = parse_backbones(self.settings.backbones, reserved=BACKBONES)
            prepare_weights(self.weights_dir, operator=operator)
        except (ValueError, BackboneWeightsError) as problem:
            raise TrainingFailed(FailureCode.UNKNOWN, f"the worker's backbones are misconfigured: {problem}") from None

    def artifact_dir(self, model_name: str, attempt: int) -> Path:
        """Where this host trains the model before it goes to the storage (`keep`)."""
        return self._data_dir / "work" / "models" / model_name / f"attempt-{attempt}"

    def evaluation_dir(self, model_name: str, evaluation_name: str, attempt: int) -> Path:
        """Where this host writes an evaluation's report before it goes to the storage (`keep`)."""
        return self._data_dir / "work" / "models" / model_name / "evaluations" / evaluation_name / f"attempt-{attempt}"

    def artifact_name(self, model_name: str, attempt: int) -> str:
        """The name a trained model is kept under in the storage. Its random part keeps a model deleted and created
        again under its name from ever meeting the old one's copies in a host's cache."""
        return f"{model_folder(model_name)}/attempt-{attempt}-{uuid.uuid4().hex[:8]}"

    def evaluation_name(self, model_name: str, evaluation_name: str, attempt: int) -> str:
        """The name an evaluation's outputs are kept under in the storage (its report in `report/`)."""
        return f"{evaluation_folder(model_name, evaluation_name)}/attempt-{attempt}"

    def keep(self, folder: Path, name: str) -> str:
        """Upload `folder` to the storage as `name`; returns `name`. The folder leaves this host either way."""
        try:
            return self.artifacts.upload(folder, name)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def discard(self, name: str) -> None:
        """Delete what `keep` stored as `name` when no record came to name it; a failure is only logged (the
        objects go with their model's folder when the model is deleted)."""
        try:
            self.artifacts.delete(name)
        except BlobError:
            log.warning("%s is named by no record, but could not be deleted", name, exc_info=True)

    @property
    def _data_dir(self) -> Path:
        # Absolute: a relative path would read as a name in the storage, and child processes may start elsewhere.
        return self.settings.data_dir.expanduser().resolve()

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
        if "storage" in self.__dict__:
            self.storage.close()
