"""Reports (ours, beyond API.md): the report of an evaluation, or of a trained model on its held-out or test
images, as one HTML page, as JSON, and file by file (the plots, for `tailor report`)."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from ...errors import NotFound
from ...reports import read_report
from ..deps import EvaluationsDep, ModelsDep, ResourceName

router = APIRouter(tags=["reports"])
_MEDIA = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


@router.get("/models/{model}/evaluations/{name}/report", response_class=HTMLResponse)
async def evaluation_report(model: ResourceName, name: ResourceName, service: EvaluationsDep) -> HTMLResponse:
    """The evaluation's report as one self-contained HTML page (plots embedded)."""
    return await _page(service.report_folder(model, name))


@router.get("/models/{model}/evaluations/{name}/report.json")
def evaluation_report_json(model: ResourceName, name: ResourceName, service: EvaluationsDep) -> JSONResponse:
    return JSONResponse(_read(service.report_folder(model, name)))


@router.get("/models/{model}/evaluations/{name}/report/{file}")
def evaluation_report_file(model: ResourceName, name: ResourceName, file: str, service: EvaluationsDep) -> FileResponse:
    return _file(service.report_folder(model, name), file)


@router.get("/models/{model}/report", response_class=HTMLResponse)
async def model_report(model: ResourceName, service: ModelsDep) -> HTMLResponse:
    """The trained model's report: on its test dataset when training named one, else on its held-out images."""
    return await _page(service.report_folder(model))


@router.get("/models/{model}/report.json")
def model_report_json(model: ResourceName, service: ModelsDep) -> JSONResponse:
    return JSONResponse(_read(service.report_folder(model)))


@router.get("/models/{model}/report/{file}")
def model_report_file(model: ResourceName, file: str, service: ModelsDep) -> FileResponse:
    return _file(service.report_folder(model), file)


async def _page(folder: Path) -> HTMLResponse:
    try:
        page = await anyio.to_thread.run_sync((folder / "report.html").read_bytes)
    except FileNotFoundError:  # none yet, or being replaced at this instant (tailor.reports writes atomically)
        raise NotFound("report", folder.name) from None
    return HTMLResponse(page)


def _read(folder: Path) -> dict:
    try:
        return read_report(folder)
    except FileNotFoundError:
        raise NotFound("report", folder.name) from None


def _file(folder: Path, file: str) -> FileResponse:
    # Only the files the report lists: a name from the URL never reaches the filesystem otherwise.
    if file not in _read(folder).get("files", ()) or not (folder / file).is_file():
        raise NotFound("report file", file)
    return FileResponse(folder / file, media_type=_MEDIA.get(Path(file).suffix.lower(), "application/octet-stream"))
