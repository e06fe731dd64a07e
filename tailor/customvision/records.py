"""What the Custom Vision face keeps: projects, their tags, images (with tags and regions) and iterations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .codes import ClassificationType, Domain, OrderBy, TaggingStatus, TagType, TrainingType, find_domain


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    description: str
    domain_id: str
    classification_type: ClassificationType | None  # None for object detection
    target_export_platforms: tuple[str, ...]
    created: datetime
    last_modified: datetime
    data_changed: datetime  # last change to what training would use (images, their tags and regions, tags)

    @property
    def domain(self) -> Domain:
        domain = find_domain(self.domain_id)
        assert domain is not None, self.domain_id  # stored only after being checked
        return domain


@dataclass(frozen=True)
class Tag:
    id: str
    name: str
    description: str
    type: TagType
    image_count: int = 0


@dataclass(frozen=True)
class ImageTag:
    tag_id: str
    tag_name: str
    created: datetime


@dataclass(frozen=True)
class Region:
    id: str
    tag_id: str
    tag_name: str
    left: float
    top: float
    width: float
    height: float
    created: datetime


@dataclass(frozen=True)
class StoredImage:
    id: str
    project_id: str
    created: datetime
    width: int
    height: int
    digest: str  # sha256 of the original bytes: the same bytes are stored once per project
    format: str  # the original's file extension: "jpg", "png", ...
    size_bytes: int
    metadata: Mapping[str, str] = field(default_factory=dict)
    tags: tuple[ImageTag, ...] = ()
    regions: tuple[Region, ...] = ()


@dataclass(frozen=True)
class Iteration:
    id: str
    project_id: str
    name: str
    created: datetime
    last_modified: datetime
    model_name: str  # the Tailor model that trains it (and serves it once published)
    training_type: TrainingType
    reserved_budget_hours: float
    domain_id: str
    classification_type: ClassificationType | None
    tags: tuple[tuple[str, str], ...] = ()  # (tag id, name) in the model's class order
    publish_name: str | None = None
    prediction_resource_id: str | None = None
    published: datetime | None = None


@dataclass(frozen=True)
class NewImage:
    """An image whose bytes are already stored, with the tags and regions it arrives with."""

    id: str
    width: int
    height: int
    digest: str
    format: str
    size_bytes: int
    metadata: dict[str, str]
    tag_ids: tuple[str, ...]
    regions: tuple[tuple[str, float, float, float, float], ...]  # (tag id, left, top, width, height)


@dataclass(frozen=True)
class ImageQuery:
    tagging: TaggingStatus = TaggingStatus.ALL
    tag_ids: tuple[str, ...] = ()
    image_ids: tuple[str, ...] = ()
    order: OrderBy = OrderBy.NEWEST
    skip: int = 0
    take: int | None = 50


@dataclass(frozen=True)
class StoredPrediction:
    id: str
    project_id: str
    iteration_id: str
    created: datetime
    width: int
    height: int
    format: str
    application: str | None
    # (probability, tag id, tag name, (left, top, width, height) or None), most probable first
    predictions: tuple[tuple[float, str, str, tuple[float, float, float, float] | None], ...]
