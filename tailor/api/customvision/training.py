"""The Training API's domains, projects, tags, iterations and quick tests (Custom Vision 3.3 and 3.4-preview):
parse, call one domain function, shape the answer. Success statuses are the SDK's: 200, and 204 for deletes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from ...customvision import projects as project_rules
from ...customvision.codes import OrderBy
from ...customvision.images import ImageFile
from ...customvision.stored import PredictionQuery, TagRange
from ...predictions import ImageUrl
from .bodies import image_body, parse_json, read_limited
from .deps import CustomVision, Skip, Take, csv, downloads_url, files_url, owner
from .schemas import (
    BoundingBoxOut,
    DomainOut,
    ExportOut,
    ImagePerformanceOut,
    ImagePredictionOut,
    ImageRegionProposalOut,
    IterationIn,
    IterationOut,
    IterationPerformanceOut,
    PredictionQueryIn,
    PredictionQueryOut,
    ProjectIn,
    ProjectOut,
    RegionProposalOut,
    StoredImagePredictionOut,
    StoredSuggestedTagAndRegionOut,
    SuggestedQueryIn,
    SuggestedQueryOut,
    SuggestedQueryTokenOut,
    SuggestedTagAndRegionOut,
    TagFilterIn,
    TagIn,
    TagOut,
    TrainingParametersIn,
    UrlIn,
)

router = APIRouter(tags=["custom vision training"])
NO_CONTENT = 204
SMALL_JSON = 1024 * 1024  # every JSON body but the image batches
QUICK_TEST_IMAGE_BYTES = 6 * 1024 * 1024


def _no_content() -> Response:
    return Response(status_code=NO_CONTENT)


# Domains ------------------------------------------------------------------------------------------------------


@router.get("/domains")
def get_domains() -> list[DomainOut]:
    return [DomainOut.of(d) for d in project_rules.domains()]


@router.get("/domains/{domain_id}")
def get_domain(domain_id: str) -> DomainOut:
    return DomainOut.of(project_rules.domain(domain_id))


# Projects -----------------------------------------------------------------------------------------------------


@router.get("/projects")
def get_projects(cv: CustomVision) -> list[ProjectOut]:
    return [ProjectOut.of(p) for p in cv.projects.list()]


@router.post("/projects")
def create_project(
    cv: CustomVision,
    name: Annotated[str | None, Query()] = None,
    description: Annotated[str | None, Query()] = None,
    domain_id: Annotated[str | None, Query(alias="domainId")] = None,
    classification_type: Annotated[str | None, Query(alias="classificationType")] = None,
    target_export_platforms: Annotated[str | None, Query(alias="targetExportPlatforms")] = None,
) -> ProjectOut:
    """The SDK sends an empty JSON body (its optional `exportModelContainerUri` and `notificationQueueUri` are not
    used by Tailor)."""
    project = cv.projects.create(name, description, domain_id, classification_type, csv(target_export_platforms))
    return ProjectOut.of(project)


@router.get("/projects/{project_id}")
def get_project(cv: CustomVision, project_id: str) -> ProjectOut:
    return ProjectOut.of(cv.projects.get(project_id))


@router.patch("/projects/{project_id}")
async def update_project(cv: CustomVision, request: Request, project_id: str) -> ProjectOut:
    body = parse_json(await read_limited(request, SMALL_JSON, "the body"), ProjectIn)
    settings = body.settings
    project = cv.projects.update(
        project_id, body.name, body.description, settings.domain_id if settings else None,
        settings.classification_type if settings else None, settings.target_export_platforms if settings else None,
    )
    return ProjectOut.of(project)


@router.delete("/projects/{project_id}", status_code=NO_CONTENT)
def delete_project(cv: CustomVision, project_id: str) -> Response:
    cv.projects.delete(project_id, models_of=cv.iterations.delete_all)
    return _no_content()


# Tags ---------------------------------------------------------------------------------------------------------


@router.get("/projects/{project_id}/tags")
def get_tags(cv: CustomVision, project_id: str) -> list[TagOut]:
    return [TagOut.of(t) for t in cv.projects.tags(project_id)]


@router.post("/projects/{project_id}/tags")
def create_tag(
    cv: CustomVision,
    project_id: str,
    name: Annotated[str | None, Query()] = None,
    description: Annotated[str | None, Query()] = None,
    type_: Annotated[str | None, Query(alias="type")] = None,
) -> TagOut:
    return TagOut.of(cv.projects.create_tag(project_id, name, description, type_))


@router.get("/projects/{project_id}/tags/{tag_id}")
def get_tag(cv: CustomVision, project_id: str, tag_id: str) -> TagOut:
    return TagOut.of(cv.projects.tag(project_id, tag_id))


@router.patch("/projects/{project_id}/tags/{tag_id}")
async def update_tag(cv: CustomVision, request: Request, project_id: str, tag_id: str) -> TagOut:
    body = parse_json(await read_limited(request, SMALL_JSON, "the body"), TagIn)
    return TagOut.of(cv.projects.update_tag(project_id, tag_id, body.name, body.description, body.type))


@router.delete("/projects/{project_id}/tags/{tag_id}", status_code=NO_CONTENT)
def delete_tag(cv: CustomVision, project_id: str, tag_id: str) -> Response:
    cv.projects.delete_tag(project_id, tag_id)
    return _no_content()


# Training and iterations --------------------------------------------------------------------------------------


@router.post("/projects/{project_id}/train")
async def train_project(
    cv: CustomVision,
    request: Request,
    project_id: str,
    training_type: Annotated[str | None, Query(alias="trainingType")] = None,
    reserved_budget_in_hours: Annotated[float | None, Query(alias="reservedBudgetInHours")] = None,
    force_train: Annotated[bool, Query(alias="forceTrain")] = False,
    notification_email_address: Annotated[str | None, Query(alias="notificationEmailAddress")] = None,
) -> IterationOut:
    """`notificationEmailAddress` is accepted and not used: Tailor sends no mail (poll get_iteration)."""
    body = parse_json(await read_limited(request, SMALL_JSON, "the body"), TrainingParametersIn)
    # A snapshot of the project's images is written to the storage: in the thread pool, off the event loop.
    view = await run_in_threadpool(cv.iterations.train, project_id, training_type, reserved_budget_in_hours,
                                   force_train, body.selected_tags, owner(request))
    return IterationOut.of(view)


@router.get("/projects/{project_id}/iterations")
def get_iterations(cv: CustomVision, project_id: str) -> list[IterationOut]:
    return [IterationOut.of(v) for v in cv.iterations.list(project_id)]


@router.get("/projects/{project_id}/iterations/{iteration_id}")
def get_iteration(cv: CustomVision, project_id: str, iteration_id: str) -> IterationOut:
    return IterationOut.of(cv.iterations.get(project_id, iteration_id))


@router.patch("/projects/{project_id}/iterations/{iteration_id}")
async def update_iteration(cv: CustomVision, request: Request, project_id: str, iteration_id: str) -> IterationOut:
    body = parse_json(await read_limited(request, SMALL_JSON, "the body"), IterationIn)
    return IterationOut.of(cv.iterations.rename(project_id, iteration_id, body.name))


@router.delete("/projects/{project_id}/iterations/{iteration_id}", status_code=NO_CONTENT)
def delete_iteration(cv: CustomVision, project_id: str, iteration_id: str) -> Response:
    cv.iterations.delete(project_id, iteration_id)
    return _no_content()


@router.get("/projects/{project_id}/iterations/{iteration_id}/performance")
def get_iteration_performance(
    cv: CustomVision,
    project_id: str,
    iteration_id: str,
    threshold: Annotated[float, Query(ge=0, le=1)] = 0.5,
    overlap_threshold: Annotated[float, Query(alias="overlapThreshold", gt=0, le=1)] = 0.3,
) -> IterationPerformanceOut:
    return IterationPerformanceOut.of(cv.performance.of_iteration(project_id, iteration_id, threshold,
                                                                  overlap_threshold))


@router.get("/projects/{project_id}/iterations/{iteration_id}/performance/images", response_model_exclude_none=True)
def get_image_performances(
    cv: CustomVision,
    request: Request,
    project_id: str,
    iteration_id: str,
    tag_ids: Annotated[str | None, Query(alias="tagIds")] = None,
    order_by: Annotated[OrderBy, Query(alias="orderBy")] = OrderBy.NEWEST,
    take: Take = 50,
    skip: Skip = 0,
) -> list[ImagePerformanceOut]:
    """The held-out images, each with the iteration's predictions."""
    base = files_url(request, project_id)
    found = cv.performance.images(project_id, iteration_id, csv(tag_ids), order_by, take, skip)
    return [ImagePerformanceOut.of(p, base) for p in found]


@router.get("/projects/{project_id}/iterations/{iteration_id}/performance/images/count")
def get_image_performance_count(cv: CustomVision, project_id: str, iteration_id: str,
                                tag_ids: Annotated[str | None, Query(alias="tagIds")] = None) -> int:
    return cv.performance.count_images(project_id, iteration_id, csv(tag_ids))


@router.post("/projects/{project_id}/iterations/{iteration_id}/publish")
def publish_iteration(
    cv: CustomVision,
    project_id: str,
    iteration_id: str,
    publish_name: Annotated[str | None, Query(alias="publishName")] = None,
    prediction_id: Annotated[str | None, Query(alias="predictionId")] = None,
    overwrite: Annotated[bool, Query()] = False,
) -> bool:
    cv.iterations.publish(project_id, iteration_id, publish_name, prediction_id, overwrite)
    return True


@router.delete("/projects/{project_id}/iterations/{iteration_id}/publish", status_code=NO_CONTENT)
def unpublish_iteration(cv: CustomVision, project_id: str, iteration_id: str) -> Response:
    cv.iterations.unpublish(project_id, iteration_id)
    return _no_content()


# Quick test ---------------------------------------------------------------------------------------------------


@router.post("/projects/{project_id}/iterations/{iteration_id}/export")
def export_iteration(
    cv: CustomVision, request: Request, project_id: str, iteration_id: str,
    platform: Annotated[str | None, Query(description="ONNX (the only platform Tailor exports to).")] = None,
    flavor: Annotated[str | None, Query(description="ONNX10 or ONNX12: the same file (opset 17).")] = None,
) -> ExportOut:
    """Export a Completed iteration: made while the call waits, so it answers `Done` with its downloadUri."""
    return ExportOut.of(cv.exports.export(project_id, iteration_id, platform, flavor), _exports_url(request))


@router.get("/projects/{project_id}/iterations/{iteration_id}/export")
def get_exports(cv: CustomVision, request: Request, project_id: str, iteration_id: str) -> list[ExportOut]:
    return [ExportOut.of(e, _exports_url(request)) for e in cv.exports.list(project_id, iteration_id)]


def _exports_url(request: Request) -> str:
    return f"{downloads_url(request)}/exports"


@router.post("/projects/{project_id}/quicktest/image")
async def quick_test_image(
    cv: CustomVision,
    request: Request,
    project_id: str,
    iteration_id: Annotated[str | None, Query(alias="iterationId")] = None,
    store: Annotated[bool, Query()] = True,
) -> ImagePredictionOut:
    image = await image_body(request, QUICK_TEST_IMAGE_BYTES)
    return ImagePredictionOut.of(await cv.predictions.quick_test(project_id, iteration_id, image, store))


@router.post("/projects/{project_id}/quicktest/url")
async def quick_test_image_url(
    cv: CustomVision,
    request: Request,
    project_id: str,
    iteration_id: Annotated[str | None, Query(alias="iterationId")] = None,
    store: Annotated[bool, Query()] = True,
) -> ImagePredictionOut:
    body = parse_json(await read_limited(request, SMALL_JSON, "the body"), UrlIn)
    prediction = await cv.predictions.quick_test(project_id, iteration_id, ImageUrl(body.url), store)
    return ImagePredictionOut.of(prediction)


# Smart Labeler and region proposals -----------------------------------------------------------------------------


@router.post("/projects/{project_id}/tagsandregions/suggestions")
async def suggest_tags_and_regions(
    cv: CustomVision,
    project_id: str,
    iteration_id: Annotated[str | None, Query(alias="iterationId")] = None,
    image_ids: Annotated[str | None, Query(alias="imageIds")] = None,
) -> list[SuggestedTagAndRegionOut]:
    found = await cv.labeler.suggest(project_id, iteration_id, csv(image_ids))
    return [SuggestedTagAndRegionOut.of(s) for s in found]


@router.post("/projects/{project_id}/images/suggested")
async def query_suggested_images(
    cv: CustomVision, request: Request, project_id: str,
    iteration_id: Annotated[str | None, Query(alias="iterationId")] = None,
) -> SuggestedQueryOut:
    """Untagged images with their suggestions, the least sure first (`sortBy` UncertaintyAscending turns it)."""
    query = parse_json(await read_limited(request, SMALL_JSON, "the body"), SuggestedQueryIn)
    most_uncertain_first = (query.sort_by or "UncertaintyDescending").lower() != "uncertaintyascending"
    max_count = query.max_count if query.max_count and query.max_count > 0 else 50
    page = await cv.labeler.query(project_id, iteration_id, query.tag_ids or [], query.threshold or 0.0,
                                  min(max_count, 256), query.continuation, most_uncertain_first)
    base = files_url(request, project_id)
    domain_id = cv.projects.get(project_id).domain_id
    token = SuggestedQueryTokenOut(**{**query.model_dump(), "continuation": page.continuation})
    return SuggestedQueryOut(token=token,
                             results=[StoredSuggestedTagAndRegionOut.stored(s, base, domain_id) for s in page.results])


@router.post("/projects/{project_id}/images/suggested/count")
async def query_suggested_image_count(
    cv: CustomVision, request: Request, project_id: str,
    iteration_id: Annotated[str | None, Query(alias="iterationId")] = None,
) -> dict[str, int]:
    query = parse_json(await read_limited(request, SMALL_JSON, "the body"), TagFilterIn)
    return await cv.labeler.count(project_id, iteration_id, query.tag_ids or [], query.threshold or 0.0)


@router.post("/projects/{project_id}/images/{image_id}/regionproposals")
async def get_image_region_proposals(cv: CustomVision, project_id: str, image_id: str) -> ImageRegionProposalOut:
    """The latest trained detector's boxes on the image (none before one is trained)."""
    proposals = await cv.labeler.proposals(project_id, image_id)
    return ImageRegionProposalOut(project_id=project_id, image_id=image_id, proposals=[
        RegionProposalOut(confidence=c, bounding_box=BoundingBoxOut(left=b[0], top=b[1], width=b[2], height=b[3]))
        for c, b in proposals])


# Stored predictions -------------------------------------------------------------------------------------------


@router.post("/projects/{project_id}/predictions/query")
async def query_predictions(cv: CustomVision, request: Request, project_id: str) -> PredictionQueryOut:
    """The predictions Tailor kept (quick tests with `store`, prediction calls that were not `nostore`)."""
    token = parse_json(await read_limited(request, SMALL_JSON, "the body"), PredictionQueryIn)
    query = PredictionQuery(
        iteration_id=token.iteration_id,
        tags=tuple(TagRange(t.id, t.min_threshold or 0.0, 1.0 if t.max_threshold is None else t.max_threshold)
                   for t in token.tags or ()),
        since=token.start_time, until=token.end_time, application=token.application,
        newest_first=(token.order_by or "Newest").lower() != "oldest", max_count=token.max_count or 50,
        continuation=token.continuation,
    )
    page = cv.stored.query(project_id, query)
    base = files_url(request, project_id, "predictions")
    domain_id = cv.projects.get(project_id).domain_id
    return PredictionQueryOut(token=token.model_copy(update={"continuation": page.continuation}),
                              results=[StoredImagePredictionOut.of(p, base, domain_id) for p in page.results])


@router.delete("/projects/{project_id}/predictions", status_code=NO_CONTENT)
def delete_prediction(cv: CustomVision, project_id: str, ids: Annotated[str | None, Query()] = None) -> Response:
    cv.stored.delete(project_id, csv(ids))
    return _no_content()


@router.get("/projects/{project_id}/predictions/{prediction_id}/files/{which}")
def get_prediction_file(cv: CustomVision, project_id: str, prediction_id: str, which: ImageFile) -> Response:
    """Ours: the files behind a stored prediction's image URIs (the training key is needed)."""
    data, content_type = cv.stored.file(project_id, prediction_id, which)
    return Response(data, media_type=content_type, headers={"Cache-Control": "private, max-age=3600"})
