"""What Custom Vision routes are handed: its services, built once in tailor.api.app, and the query forms its SDK
sends (CSV lists, `take`/`skip`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from ...customvision.coco import CocoImporter
from ...customvision.exports import IterationExports
from ...customvision.images import ImageService
from ...customvision.iterations import IterationService
from ...customvision.performance import PerformanceService
from ...customvision.predictions import CustomVisionPredictions
from ...customvision.projects import ProjectService
from ...customvision.stored import StoredPredictions
from ...customvision.suggestions import SmartLabeler
from ..paging import MAX_SKIP, bounded
from .paths import DOWNLOADS_PATH


@dataclass(frozen=True)
class CustomVisionServices:
    projects: ProjectService
    images: ImageService
    iterations: IterationService
    predictions: CustomVisionPredictions
    performance: PerformanceService
    labeler: SmartLabeler
    stored: StoredPredictions
    coco: CocoImporter
    exports: IterationExports


async def _services(request: Request) -> CustomVisionServices:  # async: no thread-pool hop (see api/deps.py)
    return request.app.state.custom_vision


CustomVision = Annotated[CustomVisionServices, Depends(_services)]
MAX_TAKE = 256  # CUSTOMVISION.md: `take` is 50 by default, at most 256
Take = Annotated[int, *bounded(0, MAX_TAKE, f"Images in one page, 0 to {MAX_TAKE}.")]
Skip = Annotated[int, *bounded(0, MAX_SKIP, f"Images to skip, 0 to {MAX_SKIP}.")]


def csv(value: str | None) -> list[str]:
    """An array query parameter as the SDK sends it: `tagIds=a,b`."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def owner(request: Request) -> str | None:
    """Which key called (a fingerprint, set by the gateway), for per-key training limits."""
    return request.scope.get("state", {}).get("key_id")


def downloads_url(request: Request) -> str:
    """Where this service hands out files by link (paths.DOWNLOADS_PATH)."""
    return f"{str(request.base_url).rstrip('/')}{DOWNLOADS_PATH}"


def files_url(request: Request, project_id: str, folder: str = "images") -> str:
    """Where this API (at the version the client called) serves a project's image files (`folder` "predictions":
    its stored predictions' images)."""
    prefix = request.url.path.split("/projects", 1)[0]
    return f"{str(request.base_url).rstrip('/')}{prefix}/projects/{project_id}/{folder}"
