"""Evaluations (API.md): parse, call the evaluation service, shape the response."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..deps import EvaluationsDep, ResourceName, Skip, Top
from ..paging import next_link
from ..schemas import EvaluationIn, EvaluationOut, EvaluationPage

router = APIRouter(tags=["evaluations"])


@router.put(
    "/models/{model}/evaluations/{name}", status_code=201, response_model=EvaluationOut,
    response_model_exclude_none=True,
)
def evaluate_model(model: ResourceName, name: ResourceName, body: EvaluationIn, service: EvaluationsDep) -> EvaluationOut:
    """Measure a succeeded model on a labelled dataset (`notStarted`, then `running`, then `succeeded` or `failed`)."""
    return EvaluationOut.of(service.create(model, name, body.evaluation_parameters.test_dataset_name))


@router.get("/models/{model}/evaluations/{name}", response_model=EvaluationOut, response_model_exclude_none=True)
def get_evaluation(model: ResourceName, name: ResourceName, service: EvaluationsDep) -> EvaluationOut:
    return EvaluationOut.of(service.get(model, name))


@router.delete("/models/{model}/evaluations/{name}", status_code=204)
def delete_evaluation(model: ResourceName, name: ResourceName, service: EvaluationsDep) -> Response:
    """Only an evaluation that has succeeded or failed can be deleted; its report goes with it."""
    service.delete(model, name)
    return Response(status_code=204)


@router.get("/models/{model}/evaluations", response_model=EvaluationPage, response_model_exclude_none=True)
def list_evaluations(
    model: ResourceName, request: Request, service: EvaluationsDep, skip: Skip = 0, top: Top = 10
) -> EvaluationPage:
    page = service.list(model, skip, top)
    return EvaluationPage(
        value=[EvaluationOut.of(e) for e in page.items], next_link=next_link(request, skip, top) if page.more else None
    )
