"""The Prediction API (Custom Vision 3.0 and 3.1): a published iteration classifies or detects an image, sent as
multipart `imageData` or a raw body, or read from `{"url"}`. The `nostore` forms answer the same: Tailor does not
keep prediction images yet."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from ...customvision.codes import DomainType
from ...predictions import ImageUrl
from .bodies import image_body, parse_json, read_limited
from .deps import CustomVision
from .schemas import ImagePredictionOut, UrlIn

router = APIRouter(tags=["custom vision prediction"])
MAX_IMAGE_BYTES = 6 * 1024 * 1024  # analyze's limit (Custom Vision's was 4 MB)
Application = Annotated[str | None, Query(description="A name for the calling application; accepted, not used.")]


async def _image(cv: CustomVision, request: Request, project_id: str, published_name: str, kind: DomainType):
    image = await image_body(request, MAX_IMAGE_BYTES)
    return ImagePredictionOut.of(await cv.predictions.published(project_id, published_name, image, kind))


async def _url(cv: CustomVision, request: Request, project_id: str, published_name: str, kind: DomainType):
    body = parse_json(await read_limited(request, 1024 * 1024, "the body"), UrlIn)
    return ImagePredictionOut.of(await cv.predictions.published(project_id, published_name, ImageUrl(body.url), kind))


def _route(kind: DomainType, url: bool):
    read = _url if url else _image

    async def predict(cv: CustomVision, request: Request, project_id: str, published_name: str,
                      application: Application = None) -> ImagePredictionOut:
        return await read(cv, request, project_id, published_name, kind)

    return predict


# classify_image, classify_image_with_no_store, classify_image_url, ..., detect_image_url_with_no_store: the SDK's
# eight calls, one route each.
for _kind, _verb in ((DomainType.CLASSIFICATION, "classify"), (DomainType.OBJECT_DETECTION, "detect")):
    for _source in ("image", "url"):
        for _suffix, _name in (("", ""), ("/nostore", "_with_no_store")):
            router.add_api_route(
                f"/{{project_id}}/{_verb}/iterations/{{published_name}}/{_source}{_suffix}",
                _route(_kind, _source == "url"), methods=["POST"], response_model=ImagePredictionOut,
                name=f"{_verb}_image{'_url' if _source == 'url' else ''}{_name}",
            )
