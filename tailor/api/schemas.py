"""The wire format of API.md, and the single source of truth for its field names.

Requests are matched case-insensitively (the official sample client sends `AnnotationKind`, `AnnotationFileUris`);
responses are camelCase. Each schema converts to or from the domain objects of tailor.datasets and nothing more.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from ..blobs import Access, AuthKind
from ..coco import AnnotationKind
from ..datasets import Dataset, DatasetChanges, DatasetSpec
from ..enums import EvaluationStatus, ModelKind, ModelStatus
from ..errors import InvalidInput
from ..evaluations import Evaluation
from ..models import Model, TrainingParameters
from ..predictions import Prediction

API_VERSIONS = ("2023-02-01-preview", "2023-04-01-preview")


def wire_time(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and Z: 2023-01-13T20:46:21.210Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class WireModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _case_insensitive_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        by_lower = {}
        for name, info in cls.model_fields.items():
            by_lower[name.lower()] = info.alias or name
            by_lower[(info.alias or name).lower()] = info.alias or name
        return {by_lower.get(str(key).lower(), key): value for key, value in data.items()}


class AuthenticationIn(WireModel):
    kind: AuthKind = Field(description="How Tailor reads the dataset's blobs.")
    sas_token: str | None = Field(default=None, description="With kind `sas`: the SAS token (never sent back).")

    def to_access(self) -> Access:
        return Access(self.kind, self.sas_token if self.kind is AuthKind.SAS else None)


class AuthenticationOut(WireModel):
    kind: AuthKind


class DatasetIn(WireModel):
    """Body of PUT /datasets/{name}."""

    annotation_kind: AnnotationKind
    annotation_file_uris: list[str] = Field(description="1 to 10 URIs of COCO files.")
    custom_properties: dict[str, str] = Field(default_factory=dict, description="At most 10 string pairs.")
    authentication: AuthenticationIn | None = Field(default=None, description="Default: kind `none`.")

    def to_spec(self) -> DatasetSpec:
        access = self.authentication.to_access() if self.authentication else Access()
        return DatasetSpec(self.annotation_kind, tuple(self.annotation_file_uris), self.custom_properties, access)


class DatasetPatchIn(WireModel):
    """Body of PATCH /datasets/{name} (ours): URIs and authentication replaced, customProperties merged (a null
    value removes a key). `annotationKind` may be repeated but not changed."""

    annotation_kind: AnnotationKind | None = None
    annotation_file_uris: list[str] | None = None
    custom_properties: dict[str, str | None] | None = None
    authentication: AuthenticationIn | None = None

    def to_changes(self, current: Dataset) -> DatasetChanges:
        if self.annotation_kind is not None and self.annotation_kind is not current.spec.annotation_kind:
            raise InvalidInput(
                f"annotationKind cannot change (the dataset is {current.spec.annotation_kind.value}); register a new "
                "dataset instead",
                target="annotationKind",
            )
        return DatasetChanges(
            tuple(self.annotation_file_uris) if self.annotation_file_uris is not None else None,
            self.custom_properties,
            self.authentication.to_access() if self.authentication else None,
        )


class DatasetOut(WireModel):
    name: str
    annotation_kind: AnnotationKind
    annotation_file_uris: list[str]
    custom_properties: dict[str, str]
    authentication: AuthenticationOut
    created_date_time: str = Field(examples=["2023-01-13T20:46:21.210Z"])
    updated_date_time: str = Field(examples=["2023-01-13T20:46:21.210Z"])
    e_tag: str = Field(alias="eTag")

    @classmethod
    def of(cls, dataset: Dataset) -> DatasetOut:
        spec = dataset.spec
        return cls(
            name=dataset.name,
            annotation_kind=spec.annotation_kind,
            annotation_file_uris=list(spec.annotation_file_uris),
            custom_properties=dict(spec.custom_properties),
            authentication=AuthenticationOut(kind=spec.access.kind),
            created_date_time=wire_time(dataset.created),
            updated_date_time=wire_time(dataset.updated),
            eTag=dataset.etag,
        )


class DatasetPage(WireModel):
    value: list[DatasetOut]
    next_link: str | None = Field(default=None, description="Absolute URL of the next page, when there is one.")


class ErrorDetail(WireModel):
    code: str
    message: str
    target: str | None = None


class InnerError(WireModel):
    code: str
    message: str


class ErrorBody(WireModel):
    code: str
    message: str
    target: str | None = None
    details: list[ErrorDetail] | None = None
    innererror: InnerError | None = None


class ErrorResponse(WireModel):
    error: ErrorBody


class TrainingParametersWire(WireModel):
    training_dataset_name: str
    time_budget_in_hours: float = Field(
        gt=0, description="Compute budget; fractions are accepted (ours), e.g. 0.02 for 72 seconds."
    )
    model_kind: ModelKind = Field(default=ModelKind.CLASSIFIER)


class EvaluationParametersWire(WireModel):
    test_dataset_name: str


class ModelIn(WireModel):
    """Body of PUT /models/{name}."""

    training_parameters: TrainingParametersWire
    evaluation_parameters: EvaluationParametersWire | None = None

    def to_training(self) -> TrainingParameters:
        p = self.training_parameters
        return TrainingParameters(p.training_dataset_name, p.time_budget_in_hours, p.model_kind)


class ModelErrorOut(WireModel):
    code: str
    message: str


class ModelOut(WireModel):
    name: str
    created_date_time: str
    updated_date_time: str
    status: ModelStatus
    training_parameters: TrainingParametersWire
    evaluation_parameters: EvaluationParametersWire | None = None
    training_cost_in_minutes: int = Field(description="Compute minutes billed; never above the budget.")
    model_performance: dict[str, Any] | None = None
    error: ModelErrorOut | None = None
    training_progress: dict[str, Any] = Field(
        default_factory=dict, description="(ours) trials done, best validation score, budget used."
    )

    @classmethod
    def of(cls, model: Model) -> ModelOut:
        t = model.training
        return cls(
            name=model.name,
            created_date_time=wire_time(model.created),
            updated_date_time=wire_time(model.updated),
            status=model.status,
            training_parameters=TrainingParametersWire(
                training_dataset_name=t.training_dataset_name,
                time_budget_in_hours=t.time_budget_in_hours,
                model_kind=t.model_kind,
            ),
            evaluation_parameters=(
                EvaluationParametersWire(test_dataset_name=model.test_dataset_name) if model.test_dataset_name else None
            ),
            training_cost_in_minutes=model.training_cost_minutes,
            model_performance=dict(model.performance) if model.performance else None,
            error=ModelErrorOut(code=model.error.code.value, message=model.error.message) if model.error else None,
            training_progress=dict(model.progress),
        )


class ModelPage(WireModel):
    value: list[ModelOut]
    next_link: str | None = None


class EvaluationIn(WireModel):
    """Body of PUT /models/{model}/evaluations/{name}."""

    evaluation_parameters: EvaluationParametersWire


class EvaluationOut(WireModel):
    name: str
    model_name: str
    created_date_time: str
    updated_date_time: str
    status: EvaluationStatus
    evaluation_parameters: EvaluationParametersWire
    model_performance: dict[str, Any] | None = None
    error: ModelErrorOut | None = None

    @classmethod
    def of(cls, evaluation: Evaluation) -> EvaluationOut:
        return cls(
            name=evaluation.name,
            model_name=evaluation.model_name,
            created_date_time=wire_time(evaluation.created),
            updated_date_time=wire_time(evaluation.updated),
            status=evaluation.status,
            evaluation_parameters=EvaluationParametersWire(test_dataset_name=evaluation.test_dataset_name),
            model_performance=dict(evaluation.performance) if evaluation.performance else None,
            error=(
                ModelErrorOut(code=evaluation.error.code.value, message=evaluation.error.message)
                if evaluation.error else None
            ),
        )


class EvaluationPage(WireModel):
    value: list[EvaluationOut]
    next_link: str | None = None


class AnalyzeUrlIn(WireModel):
    """JSON body of analyze, instead of the image's bytes."""

    url: str = Field(description="An http(s) URL of the image; private and loopback addresses are refused.")


class TagOut(WireModel):
    name: str
    confidence: float


class TagsResultOut(WireModel):
    values: list[TagOut] = Field(description="Every class of the model, highest confidence first.")


class BoundingBoxOut(WireModel):
    x: int = Field(description="Left edge, in pixels of the input image.")
    y: int = Field(description="Top edge, in pixels.")
    w: int
    h: int


class DetectedObjectOut(WireModel):
    bounding_box: BoundingBoxOut
    tags: list[TagOut]


class ObjectsResultOut(WireModel):
    values: list[DetectedObjectOut] = Field(
        description="A detector's objects, highest confidence first, none below the model's confidence floor."
    )


class CustomModelResultOut(WireModel):
    tags_result: TagsResultOut | None = Field(default=None, description="A classifier's answer.")
    objects_result: ObjectsResultOut | None = Field(default=None, description="A detector's answer.")


class ImageMetadataOut(WireModel):
    width: int = Field(description="Of the input image, as displayed (EXIF orientation applied).")
    height: int


class AnalyzeOut(WireModel):
    model_version: str
    metadata: ImageMetadataOut
    custom_model_result: CustomModelResultOut

    @classmethod
    def of(cls, prediction: Prediction, api_version: str) -> AnalyzeOut:
        if prediction.objects is not None:
            objects = [
                DetectedObjectOut(
                    bounding_box=BoundingBoxOut(x=o.box[0], y=o.box[1], w=o.box[2], h=o.box[3]),
                    tags=[TagOut(name=t.name, confidence=t.confidence) for t in o.tags],
                )
                for o in prediction.objects
            ]
            result = CustomModelResultOut(objects_result=ObjectsResultOut(values=objects))
        else:
            tags = [TagOut(name=t.name, confidence=t.confidence) for t in prediction.tags or []]
            result = CustomModelResultOut(tags_result=TagsResultOut(values=tags))
        return cls(
            model_version=api_version,
            metadata=ImageMetadataOut(width=prediction.width, height=prediction.height),
            custom_model_result=result,
        )
