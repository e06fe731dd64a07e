"""Custom Vision's error body: a top-level `{"code", "message"}` (msrest raises CustomVisionErrorException with the
message), with the code's status. Every failure on a /customvision path leaves this way, never a traceback."""

from __future__ import annotations

import logging

from fastapi.responses import JSONResponse

from ...customvision.coco import InvalidCoco
from ...customvision.codes import ErrorCode
from ...customvision.errors import CustomVisionError
from ...errors import InvalidInput, NotFound, RecordError, SecretUnreadable, TailorError
from ...evaluations import EvaluationConflict
from ...models import ModelConflict, ModelNotReady

log = logging.getLogger(__name__)

_NOT_FOUND = {"project": ErrorCode.NOT_FOUND_PROJECT, "tag": ErrorCode.NOT_FOUND_TAG,
              "image": ErrorCode.NOT_FOUND_IMAGE, "iteration": ErrorCode.NOT_FOUND_ITERATION}


def error_response(code: ErrorCode, message: str, status: int | None = None, **extra: object) -> JSONResponse:
    return JSONResponse({"code": code.value, "message": message, **extra}, status_code=status or code.status)


def from_domain(exc: TailorError) -> JSONResponse | None:
    """The answer to a domain error the request caused (or the service's configuration, said as such); None for any
    other, which the caller answers as an unexpected error (500 and an incident id), never blaming the request."""
    if isinstance(exc, InvalidCoco):  # ours: the error body, with every problem beside code and message
        return error_response(exc.code, exc.message, problems=[p.to_dict() for p in exc.problems])
    if isinstance(exc, CustomVisionError):
        return error_response(exc.code, exc.message)
    if isinstance(exc, NotFound):
        return error_response(_NOT_FOUND.get(exc.what, ErrorCode.NOT_FOUND), str(exc))
    if isinstance(exc, (RecordError, ModelConflict, ModelNotReady, EvaluationConflict)):
        return error_response(ErrorCode.CONFLICT, str(exc))
    if isinstance(exc, InvalidInput):
        return error_response(ErrorCode.BAD_REQUEST, str(exc))
    if isinstance(exc, SecretUnreadable):  # the service's configuration is at fault: a 500 that says what to fix
        log.error("%s", exc)
        return error_response(ErrorCode.ERROR_UNKNOWN, str(exc))
    return None
