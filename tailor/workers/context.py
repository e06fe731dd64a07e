"""What a job needs, built from Settings in the process that runs it (a child process or an arq worker)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..automl.devices import DevicePool, resolve_devices
from ..blobs import BlobPolicy, BlobReader, open_storage
from ..datasets import DatasetService
from ..secrets import SecretBox, resolve_secret_box
from ..settings import Settings
from ..store import Store


@dataclass
class JobContext:
    settings: Settings
    lane: int | None = None  # the in-process runner's job slot (DevicePool.lend)
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
    def reader(self) -> BlobReader:
        return BlobReader(BlobPolicy.from_settings(self.settings), storage=open_storage(self.settings))

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

    def artifact_dir(self, model_name: str, attempt: int) -> Path:
        return self.settings.data_dir / "models" / model_name / f"attempt-{attempt}"

    def evaluation_dir(self, model_name: str, evaluation_name: str, attempt: int) -> Path:
        """Inside the model's folder: deleting the model deletes its evaluations' files too."""
        return self.settings.data_dir / "models" / model_name / "evaluations" / evaluation_name / f"attempt-{attempt}"

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
