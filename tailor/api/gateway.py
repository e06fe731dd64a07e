"""The gateway in front of every /computervision call, in the order the original service's gateway checks them:
key, api-version, then the body (size, media type, nesting). What fails here never reaches a route."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np
from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import UNAUTHORIZED_MESSAGE, ApiError, ErrorCode, InnerCode
from .keys import Keys
from .schemas import API_VERSIONS

BASE_PATH = "/computervision"
ANALYZE_PATH = f"{BASE_PATH}/imageanalysis:analyze"
_JSON_TYPES = ("application/json", "application/json-patch+json")
_SLASHES = re.compile(r"/{2,}")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


@dataclass(frozen=True)
class Limits:
    max_request_bytes: int
    max_json_depth: int


class Gateway:
    def __init__(self, app: ASGIApp, *, keys: Keys, limits: Limits):
        self.app = app
        self.keys = keys
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if "//" in path:
            # The sample EvaluationClient asks for /computervision//models/...: the original's gateway took it.
            path = _SLASHES.sub("/", path)
            # In place, not a copy: the middleware outside (telemetry) reads the route that matched from this scope.
            scope.update(path=path, raw_path=path.encode())
        if scope["type"] != "http" or not (path == BASE_PATH or path.startswith(BASE_PATH + "/")):
            await self.app(scope, receive, send)
            return
        try:
            self._check_key(scope)
            self._check_api_version(scope)
            receive = await self._checked_body(scope, receive)
        except ApiError as error:
            await error.response()(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check_key(self, scope: Scope) -> None:
        offered = Headers(scope=scope).get("ocp-apim-subscription-key")
        if not self.keys.allows(offered, prediction_call=scope["path"] == ANALYZE_PATH):
            raise ApiError(401, ErrorCode.UNAUTHORIZED, UNAUTHORIZED_MESSAGE)
        # Routes learn which key called (for per-key limits) by a fingerprint, never the key itself.
        scope.setdefault("state", {})["key_id"] = key_fingerprint(offered or "")

    @staticmethod
    def _check_api_version(scope: Scope) -> None:
        version = QueryParams(scope.get("query_string", b"")).get("api-version")
        if version not in API_VERSIONS:
            shown = f"'{version}' is not supported" if version else "the query parameter 'api-version' is missing"
            raise ApiError(
                400,
                ErrorCode.INVALID_REQUEST,
                f"{shown}; supported versions: {', '.join(API_VERSIONS)}",
                target="api-version",
                inner=InnerCode.UNSUPPORTED_API_VERSION,
            )

    async def _checked_body(self, scope: Scope, receive: Receive) -> Receive:
        if scope["method"] not in ("PUT", "PATCH", "POST"):
            return receive
        limit = self.limits.max_request_bytes
        is_analyze = scope["path"] == ANALYZE_PATH
        content_type = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
        declared = Headers(scope=scope).get("content-length")
        if not is_analyze and declared and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        if is_analyze:
            return receive  # image bodies have their own limits, checked by analyze
        if content_type and content_type not in _JSON_TYPES and not content_type.endswith("+json"):
            raise ApiError(
                415,
                ErrorCode.INVALID_REQUEST,
                f"unsupported Content-Type '{content_type}'; send application/json or application/json-patch+json",
                inner=InnerCode.UNSUPPORTED_MEDIA_TYPE,
            )
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            body += message.get("body", b"")
            if len(body) > limit:
                raise _too_large(limit)
            more = message.get("more_body", False)
        if json_depth(bytes(body)) > self.limits.max_json_depth:
            raise ApiError(
                400,
                ErrorCode.INVALID_REQUEST,
                f"the JSON body is nested more than {self.limits.max_json_depth} levels deep",
                inner=InnerCode.JSON_TOO_DEEP,
            )
        return _replay(bytes(body))


def key_fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413, ErrorCode.INVALID_REQUEST, f"the request body is over the {limit // 1024} KB limit",
        inner=InnerCode.REQUEST_TOO_LARGE,
    )


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (brackets inside strings do not count)."""
    outside = np.frombuffer(_STRING.sub(b'""', body), dtype=np.uint8)
    if outside.size == 0:
        return 0
    steps = np.isin(outside, (ord("["), ord("{"))).astype(np.int32) - np.isin(outside, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max(initial=0))


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
