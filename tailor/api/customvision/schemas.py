"""Custom Vision's wire format: the request bodies and response models of the Training and Prediction APIs, with
the SDK's field names (azure-cognitiveservices-vision-customvision 3.1, `models/_models_py3.py`). Field names live
here and nowhere else: routes build these from the domain's records with the `of` constructors."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ...customvision.codes import Domain, ExportPlatform, IterationStatus
from ...customvision.exports import ExportView
from ...customvision.iterations import IterationView
from ...customvision.performance import ImagePerformance, IterationPerformance
from ...customvision.predictions import ImagePrediction, TagPrediction
from ...customvision.records import ImageTag, Project, Region, StoredImage, StoredPrediction, Tag
from ...customvision.suggestions import Suggestion


class Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


# Requests -----------------------------------------------------------------------------------------------------


class RegionIn(Wire):
    tag_id: str
    left: float
    top: float
    width: float
    height: float


class ImageFileIn(Wire):
    name: str | None = None
    contents: str = ""  # base64, as the SDK serialises bytearray
    tag_ids: list[str] | None = None
    regions: list[RegionIn] | None = None


class ImageFileBatchIn(Wire):
    images: list[ImageFileIn] = Field(default_factory=list)
    tag_ids: list[str] | None = None
    metadata: dict[str, str] | None = None


class ImageUrlIn(Wire):
    url: str
    tag_ids: list[str] | None = None
    regions: list[RegionIn] | None = None


class ImageUrlBatchIn(Wire):
    images: list[ImageUrlIn] = Field(default_factory=list)
    tag_ids: list[str] | None = None
    metadata: dict[str, str] | None = None


class ImageTagIn(Wire):
    image_id: str
    tag_id: str


class ImageTagBatchIn(Wire):
    tags: list[ImageTagIn] = Field(default_factory=list)


class ImageRegionIn(Wire):
    image_id: str
    tag_id: str
    left: float
    top: float
    width: float
    height: float


class ImageRegionBatchIn(Wire):
    regions: list[ImageRegionIn] = Field(default_factory=list)


class TrainingParametersIn(Wire):
    selected_tags: list[str] | None = None


class UrlIn(Wire):
    url: str


class ProjectSettingsIn(Wire):
    domain_id: str | None = None
    classification_type: str | None = None
    target_export_platforms: list[str] | None = None


class ProjectIn(Wire):
    name: str | None = None
    description: str | None = None
    settings: ProjectSettingsIn | None = None


class TagIn(Wire):
    name: str | None = None
    description: str | None = None
    type: str | None = None


class IterationIn(Wire):
    name: str | None = None


# Responses ----------------------------------------------------------------------------------------------------


class ModelInformationOut(Wire):
    estimated_model_size_in_megabytes: int
    description: str


class DomainOut(Wire):
    id: str
    name: str
    type: str
    exportable: bool
    enabled: bool
    exportable_platforms: list[str]
    model_information: ModelInformationOut

    @classmethod
    def of(cls, domain: Domain) -> DomainOut:
        return cls(id=domain.id, name=domain.name, type=domain.type.value, exportable=domain.exportable, enabled=True,
                   exportable_platforms=["ONNX"] if domain.exportable else [],
                   model_information=ModelInformationOut(estimated_model_size_in_megabytes=domain.size_mb,
                                                         description=domain.description))


class ProjectSettingsOut(Wire):
    domain_id: str
    classification_type: str | None
    target_export_platforms: list[str]
    use_negative_set: bool = True
    image_processing_settings: dict = Field(default_factory=lambda: {"augmentationMethods": {}})


class ProjectOut(Wire):
    id: str
    name: str
    description: str
    settings: ProjectSettingsOut
    created: datetime
    last_modified: datetime
    thumbnail_uri: str | None = None
    dr_mode_enabled: bool = False
    status: str = "Succeeded"

    @classmethod
    def of(cls, project: Project) -> ProjectOut:
        settings = ProjectSettingsOut(
            domain_id=project.domain_id,
            classification_type=project.classification_type.value if project.classification_type else None,
            target_export_platforms=list(project.target_export_platforms),
        )
        return cls(id=project.id, name=project.name, description=project.description, settings=settings,
                   created=project.created, last_modified=project.last_modified)


class TagOut(Wire):
    id: str
    name: str
    description: str
    type: str
    image_count: int

    @classmethod
    def of(cls, tag: Tag) -> TagOut:
        return cls(id=tag.id, name=tag.name, description=tag.description, type=tag.type.value,
                   image_count=tag.image_count)


class ImageTagOut(Wire):
    tag_id: str
    tag_name: str
    created: datetime

    @classmethod
    def of(cls, tag: ImageTag) -> ImageTagOut:
        return cls(tag_id=tag.tag_id, tag_name=tag.tag_name, created=tag.created)


class ImageRegionOut(Wire):
    region_id: str
    tag_name: str
    created: datetime
    tag_id: str
    left: float
    top: float
    width: float
    height: float

    @classmethod
    def of(cls, region: Region) -> ImageRegionOut:
        return cls(region_id=region.id, tag_name=region.tag_name, created=region.created, tag_id=region.tag_id,
                   left=region.left, top=region.top, width=region.width, height=region.height)


class ImageOut(Wire):
    id: str
    created: datetime
    width: int
    height: int
    resized_image_uri: str
    thumbnail_uri: str
    original_image_uri: str
    tags: list[ImageTagOut] | None = None
    regions: list[ImageRegionOut] | None = None
    metadata: dict[str, str] | None = None

    @classmethod
    def of(cls, image: StoredImage, files_url: str) -> ImageOut:
        """`files_url`: where this API serves the project's image files (`.../projects/{id}/images`)."""
        base = f"{files_url}/{image.id}/files"
        return cls(id=image.id, created=image.created, width=image.width, height=image.height,
                   resized_image_uri=f"{base}/resized", thumbnail_uri=f"{base}/thumbnail",
                   original_image_uri=f"{base}/original", tags=[ImageTagOut.of(t) for t in image.tags] or None,
                   regions=[ImageRegionOut.of(r) for r in image.regions] or None,
                   metadata=dict(image.metadata) or None)


class ImageCreateResultOut(Wire):
    source_url: str | None = None
    status: str
    image: ImageOut | None = None


class ImageCreateSummaryOut(Wire):
    is_batch_successful: bool
    images: list[ImageCreateResultOut]


class ImageTagCreateSummaryOut(Wire):
    created: list[ImageTagIn]
    duplicated: list[ImageTagIn]
    exceeded: list[ImageTagIn]


class ImageRegionCreateResultOut(Wire):
    image_id: str
    region_id: str
    tag_name: str
    created: datetime
    tag_id: str
    left: float
    top: float
    width: float
    height: float


class ImageRegionCreateSummaryOut(Wire):
    created: list[ImageRegionCreateResultOut]
    duplicated: list[ImageRegionIn]
    exceeded: list[ImageRegionIn]


class ExportOut(Wire):
    platform: str
    status: str
    download_uri: str | None = None
    flavor: str | None = None
    newer_version_available: bool = False

    @classmethod
    def of(cls, export: ExportView, download_url: str) -> ExportOut:
        return cls(platform=export.platform.value, status=export.status.value,
                   download_uri=f"{download_url}/{export.token}", flavor=export.flavor)


class IterationOut(Wire):
    id: str
    name: str
    status: str
    created: datetime
    last_modified: datetime
    trained_at: datetime | None = None
    project_id: str
    exportable: bool
    exportable_to: list[str]
    domain_id: str
    classification_type: str | None = None
    training_type: str
    reserved_budget_in_hours: int
    training_time_in_minutes: int
    publish_name: str | None = None
    original_publish_resource_id: str | None = None
    training_error_details: str | None = None

    @classmethod
    def of(cls, view: IterationView) -> IterationOut:
        it = view.iteration
        return cls(
            id=it.id, name=it.name, status=view.status.value, created=it.created, last_modified=it.last_modified,
            trained_at=view.trained_at, project_id=it.project_id, exportable=view.status is IterationStatus.COMPLETED,
            exportable_to=[ExportPlatform.ONNX.value] if view.status is IterationStatus.COMPLETED else [],
            domain_id=it.domain_id,
            classification_type=it.classification_type.value if it.classification_type else None,
            training_type=it.training_type.value, reserved_budget_in_hours=round(it.reserved_budget_hours),
            training_time_in_minutes=view.training_minutes, publish_name=it.publish_name,
            original_publish_resource_id=it.prediction_resource_id, training_error_details=view.error_details,
        )


class BoundingBoxOut(Wire):
    left: float
    top: float
    width: float
    height: float


class PredictionOut(Wire):
    probability: float
    tag_id: str
    tag_name: str
    bounding_box: BoundingBoxOut | None = None
    tag_type: str = "Regular"


class ImagePredictionOut(Wire):
    id: str
    project: str
    iteration: str
    created: datetime
    predictions: list[PredictionOut]

    @classmethod
    def of(cls, prediction: ImagePrediction) -> ImagePredictionOut:
        return cls(id=prediction.id, project=prediction.project_id, iteration=prediction.iteration_id,
                   created=prediction.created, predictions=_predictions(prediction.predictions))


class TagPerformanceOut(Wire):
    id: str
    name: str
    precision: float
    precision_std_deviation: float
    recall: float
    recall_std_deviation: float
    average_precision: float | None = None


class IterationPerformanceOut(Wire):
    per_tag_performance: list[TagPerformanceOut]
    precision: float
    precision_std_deviation: float
    recall: float
    recall_std_deviation: float
    average_precision: float | None = None

    @classmethod
    def of(cls, performance: IterationPerformance) -> IterationPerformanceOut:
        tags = [TagPerformanceOut(id=t.id, name=t.name, precision=t.precision, precision_std_deviation=t.precision_std,
                                  recall=t.recall, recall_std_deviation=t.recall_std,
                                  average_precision=t.average_precision) for t in performance.per_tag]
        return cls(per_tag_performance=tags, precision=performance.precision,
                   precision_std_deviation=performance.precision_std, recall=performance.recall,
                   recall_std_deviation=performance.recall_std, average_precision=performance.average_precision)


class CustomVisionErrorOut(Wire):
    code: str
    message: str


def _predictions(rows: list[TagPrediction]) -> list[PredictionOut]:
    out = []
    for p in rows:
        box = None if p.box is None else BoundingBoxOut(left=p.box[0], top=p.box[1], width=p.box[2], height=p.box[3])
        out.append(PredictionOut(probability=p.probability, tag_id=p.tag_id, tag_name=p.tag_name, bounding_box=box))
    return out


class ImagePerformanceOut(Wire):
    predictions: list[PredictionOut]
    id: str
    created: datetime
    width: int
    height: int
    image_uri: str
    thumbnail_uri: str
    tags: list[ImageTagOut] | None = None
    regions: list[ImageRegionOut] | None = None

    @classmethod
    def of(cls, performance: ImagePerformance, files_url: str) -> ImagePerformanceOut:
        image = ImageOut.of(performance.image, files_url)
        return cls(predictions=_predictions(performance.predictions), id=image.id, created=image.created,
                   width=image.width, height=image.height, image_uri=image.resized_image_uri,
                   thumbnail_uri=image.thumbnail_uri, tags=image.tags, regions=image.regions)


class SuggestedTagAndRegionOut(Wire):
    id: str
    project: str
    iteration: str
    created: datetime
    predictions: list[PredictionOut]
    prediction_uncertainty: float

    @classmethod
    def of(cls, suggestion: Suggestion) -> SuggestedTagAndRegionOut:
        p = suggestion.prediction
        return cls(id=suggestion.image.id, project=p.project_id, iteration=p.iteration_id, created=p.created,
                   predictions=_predictions(p.predictions), prediction_uncertainty=suggestion.uncertainty)


class StoredSuggestedTagAndRegionOut(SuggestedTagAndRegionOut):
    width: int
    height: int
    resized_image_uri: str
    thumbnail_uri: str
    original_image_uri: str
    domain: str

    @classmethod
    def stored(cls, suggestion: Suggestion, files_url: str, domain_id: str) -> StoredSuggestedTagAndRegionOut:
        image = ImageOut.of(suggestion.image, files_url)
        return cls(**SuggestedTagAndRegionOut.of(suggestion).model_dump(), width=image.width, height=image.height,
                   resized_image_uri=image.resized_image_uri, thumbnail_uri=image.thumbnail_uri,
                   original_image_uri=image.original_image_uri, domain=domain_id)


class SuggestedQueryIn(Wire):
    tag_ids: list[str] | None = None
    threshold: float | None = None
    session: str | None = None
    continuation: str | None = None
    max_count: int | None = None
    sort_by: str | None = None


class SuggestedQueryTokenOut(Wire):
    tag_ids: list[str] | None = None
    threshold: float | None = None
    session: str | None = None
    continuation: str | None = None
    max_count: int | None = None
    sort_by: str | None = None


class SuggestedQueryOut(Wire):
    token: SuggestedQueryTokenOut
    results: list[StoredSuggestedTagAndRegionOut]


class TagFilterIn(Wire):
    tag_ids: list[str] | None = None
    threshold: float | None = None


class RegionProposalOut(Wire):
    confidence: float
    bounding_box: BoundingBoxOut


class ImageRegionProposalOut(Wire):
    project_id: str
    image_id: str
    proposals: list[RegionProposalOut]


class PredictionQueryTagIn(Wire):
    id: str
    min_threshold: float | None = None
    max_threshold: float | None = None


class PredictionQueryIn(Wire):
    session: str | None = None
    continuation: str | None = None
    max_count: int | None = None
    order_by: str | None = None
    tags: list[PredictionQueryTagIn] | None = None
    iteration_id: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    application: str | None = None


class StoredImagePredictionOut(Wire):
    resized_image_uri: str
    thumbnail_uri: str
    original_image_uri: str
    domain: str
    id: str
    project: str
    iteration: str
    created: datetime
    predictions: list[PredictionOut]

    @classmethod
    def of(cls, kept: StoredPrediction, files_url: str, domain_id: str) -> StoredImagePredictionOut:
        """`files_url`: where this API serves the project's prediction files (`.../projects/{id}/predictions`)."""
        base = f"{files_url}/{kept.id}/files"
        rows = [TagPrediction(p, tag_id, name, box) for p, tag_id, name, box in kept.predictions]
        return cls(resized_image_uri=f"{base}/resized", thumbnail_uri=f"{base}/thumbnail",
                   original_image_uri=f"{base}/original", domain=domain_id, id=kept.id, project=kept.project_id,
                   iteration=kept.iteration_id, created=kept.created, predictions=_predictions(rows))


class PredictionQueryOut(Wire):
    token: PredictionQueryIn
    results: list[StoredImagePredictionOut]


class ImageIdIn(Wire):
    id: str
    tag_ids: list[str] | None = None
    regions: list[RegionIn] | None = None


class ImageIdBatchIn(Wire):
    images: list[ImageIdIn] = Field(default_factory=list)
    tag_ids: list[str] | None = None
    metadata: dict[str, str] | None = None


# Ours: importing a COCO file (POST .../images/coco) -----------------------------------------------------------


class CocoFileUriIn(Wire):
    """The body that names the COCO file instead of being it."""

    annotation_file_uri: str = Field(min_length=1, max_length=8192)


class CocoProblemOut(Wire):
    code: str
    path: str
    message: str
    file: str | None = None


class CocoImportSummaryOut(Wire):
    validate_only: bool
    kind: str  # "classification" or "detection"
    images: int
    images_added: int
    duplicates_skipped: int
    tags_created: list[str]
    tags_reused: list[str]
    image_tags_added: int
    regions_added: int
    warnings: list[CocoProblemOut]
