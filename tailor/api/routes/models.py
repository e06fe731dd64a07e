"""Models (API.md): parse, call the model service, shape the response."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ...exports import parse_format
from ..deps import ExportsDep, ModelsDep, ResourceName, Skip, Top
from ..paging import next_link
from ..schemas import ModelIn, ModelOut, ModelPage

router = APIRouter(tags=["models"])


@router.put("/models/{name}", status_code=201, response_model=ModelOut, response_model_exclude_none=True)
def train_model(name: ResourceName, body: ModelIn, service: ModelsDep, request: Request) -> ModelOut:
    """Create a model (`notStarted`) and queue its training."""
    test = body.evaluation_parameters.test_dataset_name if body.evaluation_parameters else None
    return ModelOut.of(service.create(name, body.to_training(), test, owner=request.state.key_id))


@router.get("/models/{name}", response_model=ModelOut, response_model_exclude_none=True)
def get_model(name: ResourceName, service: ModelsDep) -> ModelOut:
    return ModelOut.of(service.get(name))


@router.post("/models/{name}:cancel", status_code=202, response_model=ModelOut, response_model_exclude_none=True)
def cancel_model(name: ResourceName, service: ModelsDep) -> ModelOut:
    """Stop a training: `cancelling`, then `cancelled` once the trainer reaches its next step."""
    return ModelOut.of(service.cancel(name))


@router.delete("/models/{name}", status_code=204)
def delete_model(name: ResourceName, service: ModelsDep) -> Response:
    """Only a model whose training has ended (succeeded, failed or cancelled) can be deleted."""
    service.delete(name)
    return Response(status_code=204)


@router.get("/models", response_model=ModelPage, response_model_exclude_none=True)
def list_models(request: Request, service: ModelsDep, skip: Skip = 0, top: Top = 10) -> ModelPage:
    page = service.list(skip, top)
    return ModelPage(
        value=[ModelOut.of(m) for m in page.items], next_link=next_link(request, skip, top) if page.more else None
    )


@router.get(
    "/models/{name}/export",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                     "description": "The model as one ONNX file (the README's Export section says how to run it)."}},
)
def export_model(
    name: ResourceName, service: ExportsDep,
    export_format: Annotated[str, Query(alias="format", description="onnx")] = "onnx",
) -> Response:
    """Download a succeeded model as one ONNX file (ours: not in the Image Analysis API)."""
    parse_format(export_format)
    return Response(service.onnx(name), media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{name}.onnx"'})
