"""What routes are handed: the services built once at start-up, and the query and header parameters shared by
several routes (declared here so that the OpenAPI document shows them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.security import APIKeyHeader

from ..blobs import ArtifactStore
from ..datasets import DatasetService
from ..evaluations import EvaluationService
from ..exports import ExportService
from ..models import ModelService
from ..predictions import PredictionService
from ..records import MAX_NAME_LENGTH, NAME_PATTERN
from .paging import MAX_SKIP, bounded
from .schemas import API_VERSIONS


@dataclass(frozen=True)
class Services:
    datasets: DatasetService
    models: ModelService
    evaluations: EvaluationService
    predictions: PredictionService
    artifacts: ArtifactStore  # trained models and reports in Tailor's storage
    exports: ExportService


def services(request: Request) -> Services:
    return request.app.state.services


# The dependencies below are `async def` although they do no I/O: FastAPI runs a plain `def` dependency in its thread
# pool, a hop per dependency per request (about a millisecond each on 2 busy cores, measured on analyze).


async def datasets(request: Request) -> DatasetService:
    return services(request).datasets


async def models(request: Request) -> ModelService:
    return services(request).models


async def evaluations(request: Request) -> EvaluationService:
    return services(request).evaluations


async def predictions(request: Request) -> PredictionService:
    return services(request).predictions


async def artifacts(request: Request) -> ArtifactStore:
    return services(request).artifacts


async def exports(request: Request) -> ExportService:
    return services(request).exports


DatasetsDep = Annotated[DatasetService, Depends(datasets)]
ModelsDep = Annotated[ModelService, Depends(models)]
EvaluationsDep = Annotated[EvaluationService, Depends(evaluations)]
PredictionsDep = Annotated[PredictionService, Depends(predictions)]
ArtifactsDep = Annotated[ArtifactStore, Depends(artifacts)]
ExportsDep = Annotated[ExportService, Depends(exports)]

# Enforced by the gateway; declared here for the OpenAPI document.
subscription_key = APIKeyHeader(name="Ocp-Apim-Subscription-Key", auto_error=False)


async def api_version(
    version: Annotated[str, Query(alias="api-version", description=f"One of {', '.join(API_VERSIONS)}.",
                                  json_schema_extra={"enum": list(API_VERSIONS)})],
) -> str:
    return version


async def if_match(value: Annotated[str | None, Header(alias="If-Match")] = None) -> str | None:
    """The eTag a change is conditional on; `*` (any) and no header mean unconditional."""
    if value is None:
        return None
    value = value.strip().removeprefix("W/").strip('"')
    return None if value == "*" else value


IfMatch = Annotated[str | None, Depends(if_match)]
Skip = Annotated[int, *bounded(0, MAX_SKIP, f"Records to skip, 0 to {MAX_SKIP}.")]
Top = Annotated[int, *bounded(1, 30, "Records in one page, 1 to 30.")]

# The pattern of API.md, shown in the OpenAPI document only: a name that breaks it is refused by the services
# (tailor.datasets.check_name) with the documented code and message, not by FastAPI's validation.
NAME_SCHEMA = {"pattern": f"^{NAME_PATTERN.pattern}$", "maxLength": MAX_NAME_LENGTH}
ResourceName = Annotated[str, Path(json_schema_extra=NAME_SCHEMA)]
