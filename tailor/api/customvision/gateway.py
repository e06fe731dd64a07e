"""The gateway in front of every /customvision call: the key first, as Custom Vision checks it. A training call
takes a training key (`Training-Key`); a prediction call takes a prediction key or a training key (`Prediction-Key`,
or `Training-Key`). A prediction key on a training call is refused as a wrong key is. What fails here never reaches
a route; bodies are read by the routes, each within its own limit."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ...customvision.codes import ErrorCode
from ..gateway import key_fingerprint
from ..keys import Keys
from .paths import is_custom_vision, is_download, is_prediction_call

UNAUTHORIZED_MESSAGE = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an "
    "active subscription and use a correct regional API endpoint for your resource."
)


class CustomVisionGateway:
    def __init__(self, app: ASGIApp, *, keys: Keys):
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not is_custom_vision(path) or is_download(path):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        offered = headers.get("training-key")
        prediction = is_prediction_call(path)
        allowed = self.keys.allows(offered, prediction_call=False) if offered else False
        if not allowed and prediction:
            offered = headers.get("prediction-key") or offered
            allowed = self.keys.allows(offered, prediction_call=True)
        if not allowed:
            body = {"code": ErrorCode.UNAUTHORIZED.value, "message": UNAUTHORIZED_MESSAGE}
            await JSONResponse(body, status_code=401)(scope, receive, send)
            return
        scope.setdefault("state", {})["key_id"] = key_fingerprint(offered or "")
        await self.app(scope, receive, send)
