"""The hot path's own lane: analyze of an image's bytes with a model name, answered by a few lines of ASGI instead of
FastAPI's routing, dependency solving and exception layers.

Those layers cost the event loop about half a millisecond per call on 2 busy cores (most of it in caches that the
model's forward pass has just evicted), a twentieth of a small classifier's whole answer; measured with
`benchmarks/analyze_latency.py`. The lane sits inside the gateway (the key and the api-version are checked) and
telemetry (counted, timed, logged under the route's template). It uses the route's own helpers, so the two cannot
drift apart, and answers the domain's errors with the same handlers. Everything else (a URL in JSON, a call without
a model name, `features`, another media type, other methods) goes on to the route in `routes/analyze.py`, which is
also what the OpenAPI document describes."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.datastructures import Headers, QueryParams
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import InternalFailure, TailorError
from ..predictions import PredictionService
from .errors import ApiError, from_domain
from .gateway import ANALYZE_PATH
from .routes import analyze as route

_JSON = [(b"content-type", b"application/json")]


class AnalyzeLane:
    def __init__(self, app: ASGIApp, *, predictions: PredictionService):
        self.app = app
        self.predictions = predictions
        # What telemetry reads to name the route in /metrics and the access log, as the router would have set it.
        self.route = next(r for r in route.router.routes if getattr(r, "path", None) == "/imageanalysis:analyze")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != ANALYZE_PATH:
            await self.app(scope, receive, send)
            return
        query = QueryParams(scope["query_string"])
        headers = Headers(scope=scope)
        model_name = query.get("model-name")
        content_type = route.media_type(headers.get("content-type", ""))
        if not model_name or "features" in query or not route.is_image_type(content_type):
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        try:
            body = await route.read_image(_chunks(receive), headers.get("content-length", ""), self.predictions.limits)
            prediction = await self.predictions.analyze(model_name, body)
        except ApiError as error:
            await error.response()(scope, receive, send)
            return
        except InternalFailure:
            raise  # answered as any unexpected error, by the outermost handler, as the route's would be
        except TailorError as error:
            await from_domain(error).response()(scope, receive, send)
            return
        content = route.answer(prediction, query.get("api-version", ""))
        await send({"type": "http.response.start", "status": 200,
                    "headers": [*_JSON, (b"content-length", str(len(content)).encode())]})
        await send({"type": "http.response.body", "body": content})


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The body's chunks as they arrive (what `Request.stream` yields)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect  # as Request.stream does
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return
