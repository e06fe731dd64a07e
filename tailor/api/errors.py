"""The Azure error envelope: every failure, whoever raises it, leaves as

    {"error": {"code", "message", "target"?, "details"?: [...], "innererror"?: {"code", "message"}}}

with the header `x-ms-error-code`. Domain errors (tailor.errors) are mapped here and nowhere else; anything
unexpected becomes a 500 whose message quotes an id to find in the log, never a traceback.
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from ..customvision.codes import ErrorCode as CustomVisionCode
from ..datasets import InvalidAnnotations
from ..errors import (
    AlreadyExists,
    EtagMismatch,
    InternalFailure,
    InvalidInput,
    NotFound,
    SecretUnreadable,
    TailorError,
    new_incident,
)
from ..evaluations import EvaluationConflict, IncorrectModelKind
from ..models import ModelConflict
from ..predictions import ImageRejected, ModelNotReady
from .customvision import errors as custom_vision
from .customvision.paths import is_custom_vision
from .telemetry import request_id_headers

log = logging.getLogger("tailor.api")

UNAUTHORIZED_MESSAGE = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an "
    "active subscription and use a correct regional API endpoint for your resource."
)


_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


class ErrorCode(str, Enum):
    UNAUTHORIZED = "401"
    INVALID_REQUEST = "InvalidRequest"
    NOT_FOUND = "NotFound"
    METHOD_NOT_ALLOWED = "MethodNotAllowed"
    PRECONDITION_FAILED = "PreconditionFailed"
    INTERNAL_SERVER_ERROR = "InternalServerError"
    DATASET_ALREADY_EXISTS = "DatasetAlreadyExists"
    DATASET_NOT_FOUND = "DatasetNotFound"
    DATASET_INVALID_ANNOTATION_URI = "DatasetInvalidAnnotationUri"
    MODEL_ALREADY_EXISTS = "ModelAlreadyExists"
    MODEL_NOT_FOUND = "ModelNotFound"
    EVALUATION_ALREADY_EXISTS = "EvaluationAlreadyExists"
    EVALUATION_NOT_FOUND = "EvaluationNotFound"
    CONFLICT = "Conflict"


class InnerCode(str, Enum):
    """`innererror.code`: what exactly was wrong with an InvalidRequest."""

    INVALID_JSON = "InvalidJson"
    JSON_TOO_DEEP = "JsonTooDeep"
    REQUEST_TOO_LARGE = "RequestTooLarge"
    UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaType"
    UNSUPPORTED_API_VERSION = "UnsupportedApiVersion"
    INVALID_FIELD = "InvalidField"
    INCORRECT_MODEL_KIND = "IncorrectModelKind"
    MISSING_PARAMETER = "MissingParameter"
    # analyze: what is wrong with the image (tailor.predictions.ImageProblem)
    INVALID_IMAGE_FORMAT = "InvalidImageFormat"
    INVALID_IMAGE_SIZE = "InvalidImageSize"
    INVALID_IMAGE_DIMENSION = "InvalidImageDimension"
    INVALID_IMAGE_URL = "InvalidImageUrl"


class ApiError(TailorError):
    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        *,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
        inner: InnerCode | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.target, self.details, self.inner = target, details, inner

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.target:
            body["target"] = self.target
        if self.details:
            body["details"] = self.details
        if self.inner:
            body["innererror"] = {"code": self.inner.value, "message": self.message}
        return JSONResponse({"error": body}, status_code=self.status, headers={"x-ms-error-code": self.code.value})


_RECORD_CODES = {
    (AlreadyExists, "dataset"): (409, ErrorCode.DATASET_ALREADY_EXISTS),
    (NotFound, "dataset"): (404, ErrorCode.DATASET_NOT_FOUND),
    (AlreadyExists, "model"): (409, ErrorCode.MODEL_ALREADY_EXISTS),
    (NotFound, "model"): (404, ErrorCode.MODEL_NOT_FOUND),
    (AlreadyExists, "evaluation"): (409, ErrorCode.EVALUATION_ALREADY_EXISTS),
    (NotFound, "evaluation"): (404, ErrorCode.EVALUATION_NOT_FOUND),
    (NotFound, "report"): (404, ErrorCode.NOT_FOUND),
}


def from_domain(exc: TailorError) -> ApiError:
    if isinstance(exc, InvalidAnnotations):
        return ApiError(
            400,
            ErrorCode.DATASET_INVALID_ANNOTATION_URI,
            str(exc),
            target="annotationFileUris",
            details=[
                {"code": p.code.value, "message": p.message, "target": f"{p.file}#{p.path}" if p.file else p.path}
                for p in exc.problems
            ],
        )
    if isinstance(exc, ImageRejected):
        return ApiError(400, ErrorCode.INVALID_REQUEST, str(exc), target=exc.target, inner=InnerCode(exc.problem.value))
    if isinstance(exc, IncorrectModelKind):
        return ApiError(400, ErrorCode.INVALID_REQUEST, str(exc), target=exc.target, inner=InnerCode.INCORRECT_MODEL_KIND)
    if isinstance(exc, InvalidInput):
        return ApiError(400, ErrorCode.INVALID_REQUEST, str(exc), target=exc.target, inner=InnerCode.INVALID_FIELD)
    if isinstance(exc, (ModelConflict, ModelNotReady, EvaluationConflict)):
        return ApiError(409, ErrorCode.CONFLICT, str(exc), target="status")
    if isinstance(exc, EtagMismatch):
        return ApiError(412, ErrorCode.PRECONDITION_FAILED, str(exc), target="If-Match")
    if isinstance(exc, (AlreadyExists, NotFound)):
        status, code = _RECORD_CODES.get((type(exc), exc.what), (404, ErrorCode.NOT_FOUND))
        return ApiError(status, code, str(exc), target=exc.what)
    if isinstance(exc, SecretUnreadable):
        # The service's configuration, not the request, is at fault: a 500, but one that says what to fix.
        log.error("%s", exc)
        return ApiError(500, ErrorCode.INTERNAL_SERVER_ERROR, str(exc))
    return _internal(exc)


def _internal(exc: BaseException) -> ApiError:
    incident = new_incident()
    log.error("internal error %s", incident, exc_info=exc)
    return ApiError(
        500, ErrorCode.INTERNAL_SERVER_ERROR, f"internal error; quote id {incident} to find it in the service log"
    )


def validation_error(exc: RequestValidationError) -> ApiError:
    details = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body",))
        details.append({"code": ErrorCode.INVALID_REQUEST.value, "message": error.get("msg", ""), "target": where})
    first = details[0] if details else {"message": "invalid request", "target": None}
    return ApiError(
        400,
        ErrorCode.INVALID_REQUEST,
        f"{first['target']}: {first['message']}" if first["target"] else str(first["message"]),
        target=first["target"] or None,
        details=details,
        inner=InnerCode.INVALID_FIELD,
    )


def _http_error(request: Request, exc: StarletteHTTPException, headers: dict[str, str]) -> JSONResponse:
    if is_custom_vision(request.url.path):
        code = CustomVisionCode.NOT_FOUND if exc.status_code == 404 else CustomVisionCode.BAD_REQUEST
        message = "no such resource; check the URL" if exc.status_code == 404 else str(exc.detail)
        return custom_vision.error_response(code, message, exc.status_code)
    if exc.status_code == 404:
        return ApiError(404, ErrorCode.NOT_FOUND, "no such resource; check the URL").response()
    if exc.status_code == 405:
        allowed = headers.get("Allow", "")
        return ApiError(
            405, ErrorCode.METHOD_NOT_ALLOWED, f"this method is not allowed here; allowed: {allowed}"
        ).response()
    return ApiError(exc.status_code, ErrorCode.INVALID_REQUEST, str(exc.detail)).response()


def allowed_methods(request: Request) -> str:
    """Every method some route takes at this path (FastAPI declares one route per method)."""
    routes = request.app.router.routes
    return ", ".join(
        method for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    )


def install(app: FastAPI) -> None:
    """One handler per kind of failure; on a /customvision path each answers in Custom Vision's shape instead."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(TailorError)
    async def _domain(request: Request, exc: TailorError) -> JSONResponse:
        if isinstance(exc, InternalFailure):  # Tailor's own failure, not the request's: as any unexpected error
            return await _unexpected(request, exc)
        if is_custom_vision(request.url.path):
            answer = custom_vision.from_domain(exc)
            return answer if answer is not None else await _unexpected(request, exc)
        return from_domain(exc).response()

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        error = validation_error(exc)
        if is_custom_vision(request.url.path):
            return custom_vision.error_response(CustomVisionCode.BAD_REQUEST, error.message)
        return error.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # the router's `Allow` names only the first route that matched the path
            headers["Allow"] = allowed_methods(request)
        response = _http_error(request, exc, headers)
        response.headers.update(headers)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Answered outside every middleware (Starlette's ServerErrorMiddleware): the request id is added here.
        if is_custom_vision(request.url.path):
            error = _internal(exc)
            response = custom_vision.error_response(CustomVisionCode.ERROR_UNKNOWN, error.message)
        else:
            response = _internal(exc).response()
        response.headers.update(request_id_headers())
        return response
