"""The Prediction API (Custom Vision 3.0 and 3.1): a published iteration classifies or detects an image, sent as
multipart `imageData` or a raw body, or read from `{"url"}`. Tailor keeps the image and the prediction (for the
portal and for `create_images_from_predictions`) unless the call is a `nostore` one."""

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
Application = Annotated[str | None, Query(description="The calling application's name, kept with the prediction.")]


async def _image(request: Request) -> bytes:
    return await image_body(request, MAX_IMAGE_BYTES)


async def _url(request: Request) -> ImageUrl:
    return ImageUrl(parse_json(await read_limited(request, 1024 * 1024, "the body"), UrlIn).url)


def _route(kind: DomainType, url: bool, store: bool):
    read = _url if url else _image

    async def predict(cv: CustomVision, request: Request, project_id: str, published_name: str,
                      application: Application = None) -> ImagePredictionOut:
        image = await read(request)
        prediction = await cv.predictions.published(project_id, published_name, image, kind, store, application)
        return ImagePredictionOut.of(prediction)

    return predict


# classify_image, classify_image_with_no_store, classify_image_url, ..., detect_image_url_with_no_store: the SDK's
# eight calls, one route each.
for _kind, _verb in ((DomainType.CLASSIFICATION, "classify"), (DomainType.OBJECT_DETECTION, "detect")):
    for _source in ("image", "url"):
        for _suffix, _name in (("", ""), ("/nostore", "_with_no_store")):
            router.add_api_route(
                f"/{{project_id}}/{_verb}/iterations/{{published_name}}/{_source}{_suffix}",
                _route(_kind, _source == "url", store=not _suffix), methods=["POST"], response_model=ImagePredictionOut,
                name=f"{_verb}_image{'_url' if _source == 'url' else ''}{_name}",
            )
