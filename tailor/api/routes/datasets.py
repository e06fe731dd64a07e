"""Datasets (API.md): parse, call the dataset service, shape the response."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..deps import DatasetsDep, IfMatch, ResourceName, Skip, Top
from ..paging import next_link
from ..schemas import DatasetIn, DatasetOut, DatasetPage, DatasetPatchIn

router = APIRouter(tags=["datasets"])


@router.put("/datasets/{name}", status_code=201, response_model=DatasetOut)
def register_dataset(name: ResourceName, body: DatasetIn, service: DatasetsDep, response: Response) -> DatasetOut:
    """Register a dataset: every annotation file is read and validated; nothing is stored if one is invalid."""
    dataset = DatasetOut.of(service.register(name, body.to_spec()))
    response.headers["ETag"] = dataset.e_tag
    return dataset


@router.get("/datasets/{name}", response_model=DatasetOut)
def get_dataset(name: ResourceName, service: DatasetsDep, response: Response) -> DatasetOut:
    dataset = DatasetOut.of(service.get(name))
    response.headers["ETag"] = dataset.e_tag
    return dataset


@router.patch("/datasets/{name}", response_model=DatasetOut)
def update_dataset(
    name: ResourceName, body: DatasetPatchIn, service: DatasetsDep, condition: IfMatch, response: Response
) -> DatasetOut:
    """Replace annotationFileUris or authentication (re-validated), merge customProperties; a new eTag."""
    dataset = DatasetOut.of(service.update(name, body.to_changes(service.get(name)), condition))
    response.headers["ETag"] = dataset.e_tag
    return dataset


@router.delete("/datasets/{name}", status_code=204)
def delete_dataset(name: ResourceName, service: DatasetsDep, condition: IfMatch) -> Response:
    service.delete(name, condition)
    return Response(status_code=204)


@router.get("/datasets", response_model=DatasetPage, response_model_exclude_none=True)
def list_datasets(request: Request, service: DatasetsDep, skip: Skip = 0, top: Top = 10) -> DatasetPage:
    page = service.list(skip, top)
    return DatasetPage(
        value=[DatasetOut.of(d) for d in page.items],
        next_link=next_link(request, skip, top) if page.more else None,
    )
