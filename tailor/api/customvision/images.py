"""The Training API's image calls: uploads (base64 JSON batches, multipart or raw bodies, URLs), listings, tags and
regions on images, and the image files Tailor serves. A batch answers 200 when every image was stored and 207 when
some were not, each image with its status."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from ...coco import CocoSource
from ...customvision.codes import ErrorCode, OrderBy, TaggingStatus
from ...customvision.errors import CustomVisionError
from ...customvision.images import MAX_BATCH, MAX_IMAGE_BYTES, BoxIn, ImageFile, ImageIn, ImageOut as Outcome
from .bodies import image_body, parse_json, read_limited
from .deps import CustomVision, Skip, Take, csv, files_url
from .schemas import (
    CocoFileUriIn,
    CocoImportSummaryOut,
    CocoProblemOut,
    ImageCreateResultOut,
    ImageCreateSummaryOut,
    ImageFileBatchIn,
    ImageIdBatchIn,
    ImageOut,
    ImageRegionBatchIn,
    ImageRegionCreateResultOut,
    ImageRegionCreateSummaryOut,
    ImageRegionIn,
    ImageTagBatchIn,
    ImageTagCreateSummaryOut,
    ImageTagIn,
    ImageUrlBatchIn,
    RegionIn,
)

router = APIRouter(tags=["custom vision images"])
# A full batch of base64 images: 4 bytes of text for every 3 of image, and room for names, tags and regions.
MAX_BATCH_BODY = MAX_BATCH * MAX_IMAGE_BYTES * 4 // 3 + 4 * 1024 * 1024
SMALL_JSON = 4 * 1024 * 1024
Order = Annotated[OrderBy, Query(alias="orderBy")]


def _summary(request: Request, project_id: str, outcomes: Sequence[Outcome]) -> Response:
    base = files_url(request, project_id)
    rows = [ImageCreateResultOut(source_url=o.source_url, status=o.status.value,
                                 image=ImageOut.of(o.image, base) if o.image else None) for o in outcomes]
    successful = all(o.status.stored for o in outcomes)
    summary = ImageCreateSummaryOut(is_batch_successful=successful, images=rows)
    return Response(summary.model_dump_json(by_alias=True, exclude_none=True), status_code=200 if successful else 207,
                    media_type="application/json")


def _boxes(regions: Sequence[RegionIn] | None) -> tuple[BoxIn, ...]:
    return tuple(BoxIn(r.tag_id, r.left, r.top, r.width, r.height) for r in regions or ())


# Uploads ------------------------------------------------------------------------------------------------------
# The async routes read their bodies on the event loop, then hand the work (images decoded and stored, URLs fetched,
# the database written) to the thread pool: done on the loop, one slow URL would stall every request.


@router.post("/projects/{project_id}/images/files", status_code=200)
async def create_images_from_files(cv: CustomVision, request: Request, project_id: str) -> Response:
    body = parse_json(await read_limited(request, MAX_BATCH_BODY, "the batch"), ImageFileBatchIn)
    entries = []
    for k, image in enumerate(body.images):
        try:
            data = base64.b64decode(image.contents, validate=True)
        except (binascii.Error, ValueError):
            raise CustomVisionError(ErrorCode.IMAGE_BATCH, f"images[{k}].contents is not base64: send the image's "
                                    "bytes, base64-encoded") from None
        entries.append(ImageIn(data=data, name=image.name, tag_ids=tuple(image.tag_ids or ()),
                               regions=_boxes(image.regions)))
    outcomes = await run_in_threadpool(cv.images.add, project_id, entries, body.tag_ids or (), body.metadata)
    return _summary(request, project_id, outcomes)


@router.post("/projects/{project_id}/images/urls", status_code=200)
async def create_images_from_urls(cv: CustomVision, request: Request, project_id: str) -> Response:
    body = parse_json(await read_limited(request, SMALL_JSON, "the batch"), ImageUrlBatchIn)
    entries = [ImageIn(url=i.url, tag_ids=tuple(i.tag_ids or ()), regions=_boxes(i.regions)) for i in body.images]
    outcomes = await run_in_threadpool(cv.images.add, project_id, entries, body.tag_ids or (), body.metadata)
    return _summary(request, project_id, outcomes)


@router.post("/projects/{project_id}/images/predictions", status_code=200)
async def create_images_from_predictions(cv: CustomVision, request: Request, project_id: str) -> Response:
    """Stored predictions' images added to training, with the tags and regions given."""
    body = parse_json(await read_limited(request, SMALL_JSON, "the batch"), ImageIdBatchIn)
    entries = [(i.id, tuple(i.tag_ids or ()), _boxes(i.regions)) for i in body.images]
    outcomes = await run_in_threadpool(cv.stored.to_training, project_id, entries, body.tag_ids or (), body.metadata)
    return _summary(request, project_id, outcomes)


@router.post("/projects/{project_id}/images", status_code=200)
async def create_images_from_data(
    cv: CustomVision, request: Request, project_id: str, tag_ids: Annotated[str | None, Query(alias="tagIds")] = None,
) -> Response:
    """One image, as multipart `imageData` or as the raw body (application/octet-stream)."""
    data = await image_body(request, MAX_IMAGE_BYTES)
    outcomes = await run_in_threadpool(cv.images.add, project_id, [ImageIn(data=data)], csv(tag_ids))
    return _summary(request, project_id, outcomes)


# Importing COCO (ours) ---------------------------------------------------------------------------------------

URI_BODY = 16 * 1024  # a body this small may be {"annotationFileUri": ...} rather than a COCO file


def _coco_source(body: bytes, file_name: str | None) -> CocoSource | str:
    """The uploaded COCO file, or the URI a small `{"annotationFileUri": ...}` body names."""
    if len(body) <= URI_BODY:
        try:
            document = json.loads(body)
        except ValueError:
            document = None  # not JSON: the validator says so, with where
        if isinstance(document, dict) and "annotationFileUri" in document:
            return parse_json(body, CocoFileUriIn).annotation_file_uri
    return CocoSource((file_name or "").strip()[:255] or "upload.json", body)


@router.post("/projects/{project_id}/images/coco")
async def import_coco(
    cv: CustomVision, request: Request, project_id: str,
    validate_only: Annotated[bool, Query(alias="validateOnly")] = False,
    file_name: Annotated[str | None, Query(alias="fileName", max_length=255)] = None,
) -> CocoImportSummaryOut:
    """Ours (Azure has no such call): a COCO file, as the body or named by `{"annotationFileUri": "https://..."}`,
    validated and imported all or nothing; its images are read from their `absolute_url`/`coco_url`. Any problem:
    400 `BadRequestInvalidCoco` with `problems`, and nothing imported. `validateOnly=true`: checked, not imported."""
    body = await read_limited(request, cv.coco.max_file_bytes, "the COCO file")
    source = _coco_source(body, file_name)
    summary = await run_in_threadpool(cv.coco.run, project_id, source, validate_only)
    return CocoImportSummaryOut(
        validate_only=summary.validate_only, kind=summary.kind.short, images=summary.images,
        images_added=summary.images_added, duplicates_skipped=summary.duplicates_skipped,
        tags_created=list(summary.tags_created), tags_reused=list(summary.tags_reused),
        image_tags_added=summary.tagged, regions_added=summary.regions,
        warnings=[CocoProblemOut.model_validate(p.to_dict()) for p in summary.warnings],
    )


# Listings -----------------------------------------------------------------------------------------------------


def _listed(request: Request, project_id: str, images) -> list[ImageOut]:
    base = files_url(request, project_id)
    return [ImageOut.of(image, base) for image in images]


@router.get("/projects/{project_id}/images", response_model_exclude_none=True)
def get_images(
    cv: CustomVision, request: Request, project_id: str,
    iteration_id: Annotated[str | None, Query(alias="iterationId")] = None,
    tag_ids: Annotated[str | None, Query(alias="tagIds")] = None,
    tagging_status: Annotated[TaggingStatus, Query(alias="taggingStatus")] = TaggingStatus.ALL,
    filter_: Annotated[str | None, Query(alias="$filter")] = None,
    order_by: Order = OrderBy.NEWEST, take: Take = 50, skip: Skip = 0,
) -> list[ImageOut]:
    """`iterationId` and `$filter` are accepted; the images listed are the project's as they are now."""
    images = cv.images.query(project_id, tagging_status, csv(tag_ids), order_by, take, skip)
    return _listed(request, project_id, images)


@router.get("/projects/{project_id}/images/tagged", response_model_exclude_none=True)
def get_tagged_images(
    cv: CustomVision, request: Request, project_id: str,
    iteration_id: Annotated[str | None, Query(alias="iterationId")] = None,
    tag_ids: Annotated[str | None, Query(alias="tagIds")] = None,
    order_by: Order = OrderBy.NEWEST, take: Take = 50, skip: Skip = 0,
) -> list[ImageOut]:
    images = cv.images.query(project_id, TaggingStatus.TAGGED, csv(tag_ids), order_by, take, skip)
    return _listed(request, project_id, images)


@router.get("/projects/{project_id}/images/untagged", response_model_exclude_none=True)
def get_untagged_images(
    cv: CustomVision, request: Request, project_id: str,
    iteration_id: Annotated[str | None, Query(alias="iterationId")] = None,
    order_by: Order = OrderBy.NEWEST, take: Take = 50, skip: Skip = 0,
) -> list[ImageOut]:
    return _listed(request, project_id, cv.images.query(project_id, TaggingStatus.UNTAGGED, (), order_by, take, skip))


@router.get("/projects/{project_id}/images/count")
def get_image_count(
    cv: CustomVision, project_id: str,
    iteration_id: Annotated[str | None, Query(alias="iterationId")] = None,
    tagging_status: Annotated[TaggingStatus, Query(alias="taggingStatus")] = TaggingStatus.ALL,
    tag_ids: Annotated[str | None, Query(alias="tagIds")] = None,
) -> int:
    return cv.images.count(project_id, tagging_status, csv(tag_ids))


@router.get("/projects/{project_id}/images/tagged/count")
def get_tagged_image_count(
    cv: CustomVision, project_id: str,
    iteration_id: Annotated[str | None, Query(alias="iterationId")] = None,
    tag_ids: Annotated[str | None, Query(alias="tagIds")] = None,
) -> int:
    return cv.images.count(project_id, TaggingStatus.TAGGED, csv(tag_ids))


@router.get("/projects/{project_id}/images/untagged/count")
def get_untagged_image_count(
    cv: CustomVision, project_id: str, iteration_id: Annotated[str | None, Query(alias="iterationId")] = None,
) -> int:
    return cv.images.count(project_id, TaggingStatus.UNTAGGED)


@router.get("/projects/{project_id}/images/id", response_model_exclude_none=True)
def get_images_by_ids(
    cv: CustomVision, request: Request, project_id: str,
    image_ids: Annotated[str | None, Query(alias="imageIds")] = None,
    iteration_id: Annotated[str | None, Query(alias="iterationId")] = None,
) -> list[ImageOut]:
    return _listed(request, project_id, cv.images.by_ids(project_id, csv(image_ids)))


@router.get("/projects/{project_id}/images/{image_id}/files/{which}", include_in_schema=True)
def get_image_file(cv: CustomVision, project_id: str, image_id: str, which: ImageFile) -> Response:
    """Ours: the files behind originalImageUri, resizedImageUri and thumbnailUri (the training key is needed)."""
    data, content_type = cv.images.file(project_id, image_id, which)
    return Response(data, media_type=content_type, headers={"Cache-Control": "private, max-age=3600"})


@router.delete("/projects/{project_id}/images", status_code=204)
def delete_images(
    cv: CustomVision, project_id: str,
    image_ids: Annotated[str | None, Query(alias="imageIds")] = None,
    all_images: Annotated[bool, Query(alias="allImages")] = False,
    all_iterations: Annotated[bool, Query(alias="allIterations")] = False,
) -> Response:
    if not all_images and not csv(image_ids):
        raise CustomVisionError(ErrorCode.INVALID_IDS, "name the images to delete (imageIds) or give allImages=true")
    cv.images.delete(project_id, None if all_images else csv(image_ids))
    return Response(status_code=204)


# Tags and regions on images -----------------------------------------------------------------------------------


@router.post("/projects/{project_id}/images/tags")
async def create_image_tags(cv: CustomVision, request: Request, project_id: str) -> ImageTagCreateSummaryOut:
    body = parse_json(await read_limited(request, SMALL_JSON, "the body"), ImageTagBatchIn)
    pairs_in = [(t.image_id, t.tag_id) for t in body.tags]
    created, duplicated, exceeded = await run_in_threadpool(cv.images.tag, project_id, pairs_in)

    def pairs(found):
        return [ImageTagIn(image_id=i, tag_id=t) for i, t in found]

    return ImageTagCreateSummaryOut(created=pairs(created), duplicated=pairs(duplicated), exceeded=pairs(exceeded))


@router.delete("/projects/{project_id}/images/tags", status_code=204)
def delete_image_tags(
    cv: CustomVision, project_id: str,
    image_ids: Annotated[str | None, Query(alias="imageIds")] = None,
    tag_ids: Annotated[str | None, Query(alias="tagIds")] = None,
) -> Response:
    cv.images.untag(project_id, csv(image_ids), csv(tag_ids))
    return Response(status_code=204)


@router.post("/projects/{project_id}/images/regions")
async def create_image_regions(cv: CustomVision, request: Request, project_id: str) -> Response:
    body = parse_json(await read_limited(request, SMALL_JSON, "the body"), ImageRegionBatchIn)
    entries = [(r.image_id, BoxIn(r.tag_id, r.left, r.top, r.width, r.height)) for r in body.regions]
    created, duplicated, exceeded = await run_in_threadpool(cv.images.add_regions, project_id, entries)

    def entry(image_id: str, box: BoxIn) -> ImageRegionIn:
        return ImageRegionIn(image_id=image_id, tag_id=box.tag_id, left=box.left, top=box.top, width=box.width,
                             height=box.height)

    summary = ImageRegionCreateSummaryOut(
        created=[ImageRegionCreateResultOut(image_id=i, region_id=r.id, tag_name=r.tag_name, created=r.created,
                                            tag_id=r.tag_id, left=r.left, top=r.top, width=r.width, height=r.height)
                 for i, r in created],
        duplicated=[entry(i, b) for i, b in duplicated], exceeded=[entry(i, b) for i, b in exceeded],
    )
    status = 200 if not duplicated and not exceeded else 207
    return Response(summary.model_dump_json(by_alias=True), status_code=status, media_type="application/json")


@router.delete("/projects/{project_id}/images/regions", status_code=204)
def delete_image_regions(
    cv: CustomVision, project_id: str, region_ids: Annotated[str | None, Query(alias="regionIds")] = None,
) -> Response:
    cv.images.delete_regions(project_id, csv(region_ids))
    return Response(status_code=204)
