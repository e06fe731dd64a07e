"""Reports (ours, beyond API.md): the report of an evaluation, or of a trained model on its held-out or test
images, as one HTML page, as JSON, and file by file (the plots, for `tailor report`). Read from Tailor's storage
(tailor.blobs.ArtifactStore), wherever they were written."""

from __future__ import annotations

import json
from pathlib import PurePosixPath

import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ...blobs import ArtifactStore
from ...errors import BlobNotFound, NotFound
from ...models import HELD_OUT_PREDICTIONS
from ..deps import ArtifactsDep, EvaluationsDep, ModelsDep, ResourceName

router = APIRouter(tags=["reports"])
_MEDIA = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
_PAGE, _JSON = "report.html", "report.json"


@router.get("/models/{model}/evaluations/{name}/report", response_class=HTMLResponse)
async def evaluation_report(
    model: ResourceName, name: ResourceName, service: EvaluationsDep, artifacts: ArtifactsDep
) -> HTMLResponse:
    """The evaluation's report as one self-contained HTML page (plots embedded)."""
    return await _page(artifacts, service.report_location(model, name))


@router.get("/models/{model}/evaluations/{name}/report.json")
def evaluation_report_json(
    model: ResourceName, name: ResourceName, service: EvaluationsDep, artifacts: ArtifactsDep
) -> JSONResponse:
    return JSONResponse(_read(artifacts, service.report_location(model, name)))


@router.get("/models/{model}/evaluations/{name}/report/{file}")
def evaluation_report_file(
    model: ResourceName, name: ResourceName, file: str, service: EvaluationsDep, artifacts: ArtifactsDep
) -> Response:
    return _file(artifacts, service.report_location(model, name), file)


@router.get("/models/{model}/report", response_class=HTMLResponse)
async def model_report(model: ResourceName, service: ModelsDep, artifacts: ArtifactsDep) -> HTMLResponse:
    """The trained model's report: on its test dataset when training named one, else on its held-out images."""
    return await _page(artifacts, service.report_location(model))


@router.get("/models/{model}/report.json")
def model_report_json(model: ResourceName, service: ModelsDep, artifacts: ArtifactsDep) -> JSONResponse:
    return JSONResponse(_read(artifacts, service.report_location(model)))


@router.get("/models/{model}/report/{file}")
def model_report_file(model: ResourceName, file: str, service: ModelsDep, artifacts: ArtifactsDep) -> Response:
    return _file(artifacts, service.report_location(model), file)


@router.get("/models/{model}/heldout-predictions")
async def model_held_out_predictions(model: ResourceName, service: ModelsDep, artifacts: ArtifactsDep) -> Response:
    """Ours: the trained model's predictions on its held-out images, as kept beside it (the JSON of
    tailor.reports.save_predictions: `kind` "classifier" with `classNames`, `multilabel`, `imageNames`, `scores`
    (images x classes) and `targets`; or "detector" with `classNames`, `imageNames`, `imageSizes`, `trueBoxes`,
    `trueLabels`, `boxes`, `labels` and `scores`, boxes as x1 y1 x2 y2 pixels), from which any threshold's figures
    can be computed without a further call (the portal's Performance sliders). 404 for a model trained before
    Tailor kept them; the same keys as its report."""
    location = service.held_out_location(model)
    body = await anyio.to_thread.run_sync(_bytes, artifacts, location, HELD_OUT_PREDICTIONS, "held-out predictions")
    return Response(body, media_type="application/json")


async def _page(artifacts: ArtifactStore, location: str) -> HTMLResponse:
    return HTMLResponse(await anyio.to_thread.run_sync(_bytes, artifacts, location, _PAGE))


def _read(artifacts: ArtifactStore, location: str) -> dict:
    return json.loads(_bytes(artifacts, location, _JSON))


def _file(artifacts: ArtifactStore, location: str, file: str) -> Response:
    # Only the files the report lists: a name from the URL never reaches the storage otherwise.
    if file not in _read(artifacts, location).get("files", ()):
        raise NotFound("report file", file)
    media = _MEDIA.get(PurePosixPath(file).suffix.lower(), "application/octet-stream")
    return Response(_bytes(artifacts, location, file, "report file"), media_type=media)


def _bytes(artifacts: ArtifactStore, location: str, file: str, what: str = "report") -> bytes:
    try:
        return artifacts.read(location, file)
    except BlobNotFound:  # none (a report that could not be written), or its objects deleted meanwhile
        raise NotFound(what, file) from None
