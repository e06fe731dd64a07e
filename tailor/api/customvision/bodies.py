"""Reading Custom Vision request bodies within their limits: an image sent as multipart `imageData` (the SDK sends
bytes without a filename or Content-Type, and a file object with both) or as the raw body, and JSON batches.

The multipart body is parsed from the raw bytes with python-multipart: Starlette's form parser turns a part
without a filename into text and caps it at 1 MB, which would corrupt or refuse the SDK's image uploads."""

from __future__ import annotations

from typing import TypedDict, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from python_multipart.multipart import MultipartParser, parse_options_header

from ...customvision.codes import ErrorCode
from ...customvision.errors import CustomVisionError

MULTIPART_SLACK = 64 * 1024  # the part headers and boundaries around the image
Body = TypeVar("Body", bound=BaseModel)


async def read_limited(request: Request, limit: int, what: str, slack: int = 0) -> bytes:
    """The body, refused as soon as it is over `limit` + `slack` bytes (the refusal names `limit`)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + slack:
        raise _too_large(what, limit, int(declared))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit + slack:
            raise _too_large(what, limit)
    return bytes(body)


async def image_body(request: Request, max_image_bytes: int) -> bytes:
    """The image of a multipart (`imageData`, or the only part) or raw body."""
    content_type = request.headers.get("content-type", "")
    kind, options = parse_options_header(content_type)
    if kind == b"multipart/form-data":
        body = await read_limited(request, max_image_bytes, "the image", slack=MULTIPART_SLACK)
        boundary = options.get(b"boundary")
        if not boundary:
            raise CustomVisionError(ErrorCode.IMAGE_STREAM, "the multipart body has no boundary in its Content-Type")
        image = _image_part(body, boundary)
    else:
        image = await read_limited(request, max_image_bytes, "the image")
    if not image:
        raise CustomVisionError(ErrorCode.IMAGE_STREAM, "the request has no image: send it as the multipart part "
                                "'imageData' or as the body (application/octet-stream)")
    if len(image) > max_image_bytes:
        raise _too_large("the image", max_image_bytes, len(image))
    return image


def parse_json(body: bytes, model: type[Body]) -> Body:
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as invalid:
        first = invalid.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise CustomVisionError(ErrorCode.BAD_REQUEST, f"the JSON body is not valid: {where}: {first.get('msg')}"
                                if where else f"the JSON body is not valid: {first.get('msg')}") from None


class _PartState(TypedDict):
    field: bytearray
    value: bytearray
    disposition: bytes
    data: bytearray


def _image_part(body: bytes, boundary: bytes) -> bytes:
    parts: list[tuple[bytes, bytes]] = []  # (the part's name, its bytes)
    state: _PartState = {"field": bytearray(), "value": bytearray(), "disposition": b"", "data": bytearray()}

    def on_part_begin() -> None:
        state["disposition"], state["data"] = b"", bytearray()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        if bytes(state["field"]).lower() == b"content-disposition":
            state["disposition"] = bytes(state["value"])
        state["field"], state["value"] = bytearray(), bytearray()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        state["data"] += data[start:end]

    def on_part_end() -> None:
        _, options = parse_options_header(state["disposition"])
        parts.append((options.get(b"name", b""), bytes(state["data"])))

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_part_data": on_part_data, "on_part_end": on_part_end,
    })
    try:
        parser.write(body)
        parser.finalize()
    except Exception as exc:  # python-multipart raises its own errors for a malformed body
        raise CustomVisionError(ErrorCode.IMAGE_STREAM, f"the multipart body cannot be read ({exc}): send the image "
                                "as the part 'imageData'") from None
    for name, data in parts:
        if name == b"imageData":
            return data
    return parts[0][1] if len(parts) == 1 else b""


def _too_large(what: str, limit: int, size: int | None = None) -> CustomVisionError:
    shown = f"{size:,} bytes" if size is not None else "larger"
    if what == "the image" and size is not None:
        shown = f"about {size / (1024 * 1024):.1f} MB" if size > limit else shown
    code = ErrorCode.IMAGE_SIZE_BYTES if what == "the image" else ErrorCode.EXCEEDED_BATCH_SIZE
    return CustomVisionError(code, f"{what} is {shown}, over the limit of {limit / (1024 * 1024):.4g} MB: send a "
                             "smaller image" if what == "the image" else f"{what} is {shown}, over the limit of "
                             f"{limit / (1024 * 1024):.4g} MB: send fewer or smaller images per call")
