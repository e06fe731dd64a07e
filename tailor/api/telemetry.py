"""The outermost middleware: every request gets an id, is counted and timed in /metrics by its route's template, and
leaves one access line in the log (`tailor.access`).

The id is the client's when it sends one (`x-request-id`, or `x-ms-client-request-id` as the Azure SDKs do) and a
new one otherwise. Every log line written while the request is answered carries it (`tailor.logs.request_id`), and
the response names it in `x-request-id` and in the headers Azure's services answer with (`apim-request-id`,
`x-ms-request-id`; a client's `x-ms-client-request-id` is echoed back), so that a client can quote it.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..logs import request_id
from .metrics import UNMATCHED, Metrics

access_log = logging.getLogger("tailor.access")

INCOMING_HEADERS = ("x-request-id", "x-ms-client-request-id")
RESPONSE_HEADERS = ("x-request-id", "apim-request-id", "x-ms-request-id")
_CLIENT_HEADER = "x-ms-client-request-id"
# What a client's id may be: it is written to logs and headers, so nothing that could forge a line or a header.
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
_SLASHES = re.compile(r"/{2,}")


def request_id_headers() -> dict[str, str]:
    """The response headers that name the current request (none outside a request)."""
    current = request_id.get()
    return {name: current for name in RESPONSE_HEADERS} if current is not None else {}


class Telemetry:
    def __init__(self, app: ASGIApp, *, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        current = _incoming_id(headers) or uuid.uuid4().hex
        # Not reset afterwards: each request runs in a task of its own, with its own copy of the context, and a 500
        # is logged and answered (by Starlette's outermost ServerErrorMiddleware) after this call has returned.
        request_id.set(current)
        echoed = [(name, current) for name in RESPONSE_HEADERS]
        client_id = headers.get(_CLIENT_HEADER, "").strip()
        if _ACCEPTED_ID.fullmatch(client_id):
            echoed.append((_CLIENT_HEADER, client_id))
        status = 500  # what the client gets when the app raises before answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                response_headers = MutableHeaders(scope=message)
                for name, value in echoed:
                    response_headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            self.metrics.observe(scope["method"], route, status, seconds)
            access_log.info(
                "%s %s %d %.1f ms", scope["method"], scope["path"], status, seconds * 1000,
                extra={"method": scope["method"], "path": scope["path"], "route": route, "status": status,
                       "duration_ms": round(seconds * 1000, 3)},
            )


def route_template(scope: Scope) -> str:
    """The template of the route that answered (`/computervision/models/{name}`), or UNMATCHED when none did: no
    such path, or a gateway refused the request before routing (no key, a body too large).

    A route knows its path relative to the router it was declared in; the prefixes that routers are included under
    are fixed strings, so the full template is the part of the request's path before what the route matched, then
    the route's own template."""
    route = scope.get("route")
    template, pattern = getattr(route, "path", None), getattr(route, "path_regex", None)
    if not template:
        return UNMATCHED
    if pattern is None:
        return template
    path = _SLASHES.sub("/", scope.get("path", ""))
    for start in (i for i, char in enumerate(path) if char == "/"):
        if pattern.match(path[start:]):
            return path[:start] + template
    return template


def _incoming_id(headers: Headers) -> str | None:
    for name in INCOMING_HEADERS:
        offered = headers.get(name, "").strip()
        if _ACCEPTED_ID.fullmatch(offered):
            return offered
    return None
