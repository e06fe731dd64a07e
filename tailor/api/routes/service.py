"""The service's own routes, outside the two APIs and their gateways: liveness, readiness and metrics.

- `/health`: the process answers (a liveness probe: restart it when this fails).
- `/ready`: the database, Redis (when set) and Tailor's storage can be reached (a readiness probe: send no traffic
  while this is 503). No key, like `/health`: load balancers and orchestrators call it.
- `/metrics`: Prometheus' text format (tailor/api/metrics.py). A training key is needed, as
  `Authorization: Bearer <key>` (what Prometheus' `authorization` scrape setting sends) or
  `Ocp-Apim-Subscription-Key`; with TAILOR_METRICS_PUBLIC none is, for a scraper on a private network.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from ..errors import UNAUTHORIZED_MESSAGE, ApiError, ErrorCode
from ..keys import Keys

router = APIRouter(tags=["service"], include_in_schema=False)


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
def ready(request: Request) -> JSONResponse:
    """200 with each component's state when all are up, 503 naming those that are not."""
    states = request.app.state.readiness.check()
    components = {name: state.value for name, state in states.items()}
    unreachable = [name for name, state in states.items() if not state.is_up()]
    if unreachable:
        body = {"status": "notReady", "unreachable": unreachable, "components": components}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5", "Cache-Control": "no-store"})
    return JSONResponse({"status": "ready", "components": components}, headers={"Cache-Control": "no-store"})


def metrics_reader(request: Request) -> None:
    if request.app.state.settings.metrics_public:
        return
    keys: Keys = request.app.state.keys
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    offered = bearer.strip() if scheme.lower() == "bearer" else request.headers.get("ocp-apim-subscription-key")
    if not keys.allows(offered, prediction_call=False):
        raise ApiError(401, ErrorCode.UNAUTHORIZED, UNAUTHORIZED_MESSAGE)


@router.get("/metrics")
def metrics(request: Request, _: Annotated[None, Depends(metrics_reader)]) -> Response:
    body, content_type = request.app.state.metrics.exposition()
    return Response(body, media_type=content_type)
