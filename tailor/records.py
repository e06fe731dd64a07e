"""The records Tailor keeps: what a user said a dataset is, a model's training and what became of it, an
evaluation's. Plain frozen dataclasses that check their own fields, persisted by `tailor.store` and handed around by
the services (`tailor.datasets`, `tailor.models`, `tailor.evaluations`, which hold the rules and re-export these).

Here, apart from the services, so that the store can import them without importing the services that use the store.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .blobs import Access, AuthKind
from .coco import AnnotationKind
from .enums import EvaluationFailureCode, EvaluationStatus, FailureCode, ModelKind, ModelStatus
from .errors import InvalidInput

NAME_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]*")
MAX_NAME_LENGTH = 255
MAX_ANNOTATION_FILES = 10
MAX_CUSTOM_PROPERTIES = 10
MAX_PROPERTY_LENGTH = 1024
MAX_URI_LENGTH = 8192


def check_name(name: str, what: str = "dataset") -> str:
    if len(name) > MAX_NAME_LENGTH or not NAME_PATTERN.fullmatch(name):
        raise InvalidInput(
            f"invalid {what} name {name[:300]!r}: use letters, digits, '.', '_' and '-', starting with a letter or "
            f"digit, at most {MAX_NAME_LENGTH} characters",
            target="name",
        )
    return name


@dataclass(frozen=True)
class DatasetSpec:
    """What a user says a dataset is."""

    annotation_kind: AnnotationKind
    annotation_file_uris: tuple[str, ...]
    custom_properties: Mapping[str, str] = field(default_factory=dict)
    access: Access = Access()

    def __post_init__(self) -> None:
        uris = self.annotation_file_uris
        if not 1 <= len(uris) <= MAX_ANNOTATION_FILES:
            raise InvalidInput(
                f"annotationFileUris must list 1 to {MAX_ANNOTATION_FILES} COCO files, got {len(uris)}",
                target="annotationFileUris",
            )
        for uri in uris:
            if not uri.strip() or len(uri) > MAX_URI_LENGTH:
                raise InvalidInput("each annotation file URI must be a non-empty URI", target="annotationFileUris")
        props = self.custom_properties
        if len(props) > MAX_CUSTOM_PROPERTIES:
            raise InvalidInput(
                f"customProperties takes at most {MAX_CUSTOM_PROPERTIES} pairs, got {len(props)}",
                target="customProperties",
            )
        for key, value in props.items():
            if not key or len(key) > MAX_PROPERTY_LENGTH or len(value) > MAX_PROPERTY_LENGTH:
                raise InvalidInput(
                    f"customProperties keys must be non-empty and keys and values at most {MAX_PROPERTY_LENGTH} "
                    "characters",
                    target="customProperties",
                )
        if self.access.kind is AuthKind.SAS and not (self.access.sas_token or "").strip():
            raise InvalidInput("authentication kind 'sas' needs a sasToken", target="authentication.sasToken")


@dataclass(frozen=True)
class Dataset:
    name: str
    spec: DatasetSpec
    created: datetime
    updated: datetime
    etag: str

    @classmethod
    def from_columns(
        cls,
        *,
        name: str,
        annotation_kind: str,
        annotation_file_uris: list[str],
        custom_properties: dict[str, str],
        auth_kind: str,
        sas_token: str | None,
        created: datetime,
        updated: datetime,
        etag: str,
    ) -> Dataset:
        spec = DatasetSpec(
            AnnotationKind(annotation_kind),
            tuple(annotation_file_uris),
            dict(custom_properties),
            Access(AuthKind(auth_kind), sas_token),
        )
        return cls(name, spec, created, updated, etag)


@dataclass(frozen=True)
class TrainingParameters:
    training_dataset_name: str
    time_budget_in_hours: float
    model_kind: ModelKind = ModelKind.CLASSIFIER

    def __post_init__(self) -> None:
        budget = self.time_budget_in_hours
        if not (isinstance(budget, (int, float)) and math.isfinite(budget) and budget > 0):
            raise InvalidInput("timeBudgetInHours must be a number above 0", target="trainingParameters.timeBudgetInHours")
        if budget > self.model_kind.max_budget_hours:
            raise InvalidInput(
                f"timeBudgetInHours for {self.model_kind.value} is at most {self.model_kind.max_budget_hours:g}",
                target="trainingParameters.timeBudgetInHours",
            )

    @property
    def budget_seconds(self) -> float:
        return self.time_budget_in_hours * 3600


@dataclass(frozen=True)
class TrainingError:
    code: FailureCode
    message: str


@dataclass(frozen=True)
class Model:
    name: str
    status: ModelStatus
    training: TrainingParameters
    test_dataset_name: str | None
    created: datetime
    updated: datetime
    billed_seconds: float = 0.0
    performance: Mapping[str, Any] | None = None
    error: TrainingError | None = None
    progress: Mapping[str, Any] = field(default_factory=dict)
    # The trained model's artifact: its name in Tailor's storage (tailor.blobs.ArtifactStore), or, in a database
    # from before the artifact store, the absolute path of its folder.
    artifact: str | None = None
    attempt: int = 0  # how many times a worker has started it (a crashed attempt is retried, not billed)

    @property
    def training_cost_minutes(self) -> int:
        """Billed compute minutes, rounded up per started minute but never above the budget."""
        budget_minutes = math.floor(self.training.time_budget_in_hours * 60 + 1e-9)
        return min(math.ceil(self.billed_seconds / 60 - 1e-9), budget_minutes)


@dataclass(frozen=True)
class EvaluationError:
    code: EvaluationFailureCode
    message: str


@dataclass(frozen=True)
class Evaluation:
    name: str
    model_name: str
    test_dataset_name: str
    status: EvaluationStatus
    created: datetime
    updated: datetime
    performance: Mapping[str, Any] | None = None
    error: EvaluationError | None = None
    # Once it has succeeded, its report: a location of the artifact store (tailor.blobs.ArtifactStore), or, in a
    # database from before the artifact store, the absolute path of the report's folder.
    report: str | None = None
    attempt: int = 0
