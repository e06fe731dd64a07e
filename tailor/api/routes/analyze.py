"""Analyze (API.md): read the body within its limit, call the prediction service, shape the response.

The gateway lets analyze bodies through unread (they are images, not JSON): their limits are checked here, while
reading, so that nothing past the limit is held. An image's bytes with a model name usually never reach this route:
`analyze_lane` answers them first, with the helpers below (`is_image_type`, `read_image`, `answer`); the route
answers the rest (a URL, the errors of a call without a model) and is what the OpenAPI document describes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError

from ...predictions import ImageLimits, ImageProblem, ImageRejected, ImageUrl, Prediction
from ...predictions.images import check_size, too_large
from ..deps import NAME_SCHEMA, PredictionsDep
from ..errors import ApiError, ErrorCode, InnerCode
from ..schemas import AnalyzeOut, AnalyzeUrlIn, ErrorResponse

router = APIRouter(tags=["predictions"])

_JSON_TYPES = ("application/json", "application/json-patch+json")
_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff", "application/octet-stream")
_BODY = {
    "required": True,
    "content": {
        **{t: {"schema": {"type": "string", "format": "binary"}} for t in _IMAGE_TYPES},
        "application/json": {"schema": AnalyzeUrlIn.model_json_schema()},
    },
}


@router.post(
    "/imageanalysis:analyze",
    response_model=AnalyzeOut,
    response_model_exclude_none=True,
    responses={code: {"model": ErrorResponse} for code in (400, 404, 409, 413, 415)},
    openapi_extra={"requestBody": _BODY},
)
async def analyze(
    request: Request,
    service: PredictionsDep,
    model_name: Annotated[
        str | None, Query(alias="model-name", description="The trained model to run.", json_schema_extra=NAME_SCHEMA)
    ] = None,
    features: Annotated[str | None, Query(description="Prebuilt features: not offered by Tailor.")] = None,
    api_version: Annotated[str, Query(alias="api-version")] = "",
) -> Response:
    """Run a trained model on one image: its bytes (JPEG, PNG, GIF, BMP, WEBP, ICO, TIFF or MPO; at most 6 MB; each
    side 50 to 16,000 px) or JSON `{"url": "..."}`. The prediction key may call it."""
    if not model_name:
        if features:
            raise ApiError(
                400, ErrorCode.INVALID_REQUEST,
                "prebuilt 'features' are not offered by Tailor: give 'model-name', the name of a trained model",
                target="features", inner=InnerCode.INVALID_FIELD,
            )
        raise ApiError(
            400, ErrorCode.INVALID_REQUEST,
            "Either 'features' or 'model-name' needs to be specified in the query parameter.",
            target="model-name", inner=InnerCode.MISSING_PARAMETER,
        )
    content_type = media_type(request.headers.get("content-type", ""))
    if content_type in _JSON_TYPES or content_type.endswith("+json"):
        image: bytes | ImageUrl = await _url(request)
    elif is_image_type(content_type):
        image = await read_image(request.stream(), request.headers.get("content-length", ""), service.limits)
    else:
        raise ApiError(
            415, ErrorCode.INVALID_REQUEST,
            f"unsupported Content-Type '{content_type}': send the image's bytes ({', '.join(_IMAGE_TYPES)}) or "
            "application/json with {\"url\": ...}",
            inner=InnerCode.UNSUPPORTED_MEDIA_TYPE,
        )
    return Response(answer(await service.analyze(model_name, image), api_version), media_type="application/json")


def media_type(content_type: str) -> str:
    """`image/jpeg; q=1` -> `image/jpeg`."""
    return content_type.split(";")[0].strip().lower()


def is_image_type(content_type: str) -> bool:
    """Whether a body of this media type is taken as an image's bytes (no type at all is)."""
    return not content_type or content_type.startswith("image/") or content_type == "application/octet-stream"


async def read_image(chunks: AsyncIterator[bytes], declared_length: str, limits: ImageLimits) -> bytes:
    """An image body, refused (ImageRejected) as soon as it is known to be too large or too small."""
    if declared_length.isdigit():
        check_size(int(declared_length), limits)  # refused before a byte is read
    body = await _read(chunks, limits.max_bytes)
    if body is None:
        raise too_large(limits)
    check_size(len(body), limits)
    return body


def answer(prediction: Prediction, api_version: str) -> bytes:
    """The response's JSON. Serialised here, not returned as a model: FastAPI would validate it a second time
    against response_model (the hot path)."""
    return AnalyzeOut.of(prediction, api_version).model_dump_json(by_alias=True, exclude_none=True).encode()


async def _url(request: Request) -> ImageUrl:
    limit = request.app.state.settings.max_request_kb * 1024
    body = await _read(request.stream(), limit)
    if body is None:
        raise ApiError(
            413, ErrorCode.INVALID_REQUEST, f"the request body is over the {limit // 1024} KB limit",
            inner=InnerCode.REQUEST_TOO_LARGE,
        )
    try:
        return ImageUrl(AnalyzeUrlIn.model_validate_json(body).url)
    except ValidationError:
        raise ImageRejected(
            ImageProblem.URL, 'the JSON body must be {"url": "<http(s) URL of the image>"}', target="url"
        ) from None


async def _read(chunks: AsyncIterator[bytes], limit: int) -> bytes | None:
    """The body, or None as soon as it passes `limit` (nothing more is read)."""
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
