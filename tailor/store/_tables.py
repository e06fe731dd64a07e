"""Tables. Column names are the store's own; the wire names live in tailor.api.schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class DatasetRow(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    annotation_kind: Mapped[str] = mapped_column(String(32), nullable=False)
    annotation_file_uris: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    custom_properties: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    auth_kind: Mapped[str] = mapped_column(String(32), nullable=False)
    # Needed to read the blobs again at training time; never sent back to a client. Encrypted, as are the URIs
    # above that carry a SAS (tailor.store._credentials, since revision 0003).
    sas_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    etag: Mapped[str] = mapped_column(String(64), nullable=False)


class ModelRow(Base):
    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    training_dataset_name: Mapped[str] = mapped_column(String(255), nullable=False)
    budget_hours: Mapped[float] = mapped_column(Float, nullable=False)
    model_kind: Mapped[str] = mapped_column(String(32), nullable=False)
    test_dataset_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    billed_seconds: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    performance: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    artifact: Mapped[str | None] = mapped_column(Text, nullable=True)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # fingerprint of the key


class ModelUsageRow(Base):
    """When each model last answered an analyze call (written in batches), to preload the most used at start-up.
    A table of its own rather than a column of `models`: usage is written often, by every replica, and never needs
    to lock a model's row."""

    __tablename__ = "model_usage"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    last_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class EvaluationRow(Base):
    """An evaluation belongs to its model: it is deleted with it (ModelRecords.delete, tailor.store._models)."""

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("model_name", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    test_dataset_name: Mapped[str] = mapped_column(String(255), nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    performance: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    report: Mapped[str | None] = mapped_column(Text, nullable=True)


# Custom Vision (tailor.customvision): a project owns its tags, images and iterations, and they go with it.


class ProjectRow(Base):
    __tablename__ = "cv_projects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    domain_id: Mapped[str] = mapped_column(String(36), nullable=False)
    classification_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    target_export_platforms: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    data_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class TagRow(Base):
    __tablename__ = "cv_tags"
    # Tag names are unique in a project whatever their case, as in Custom Vision.
    __table_args__ = (UniqueConstraint("project_id", "name_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("cv_projects.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    name_key: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ImageRow(Base):
    __tablename__ = "cv_images"
    # The same bytes are stored once per project: a second upload answers OKDuplicate.
    __table_args__ = (UniqueConstraint("project_id", "digest"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("cv_projects.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    format: Mapped[str] = mapped_column(String(8), nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    image_metadata: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False, default=dict)


class ImageTagRow(Base):
    __tablename__ = "cv_image_tags"

    image_id: Mapped[str] = mapped_column(String(36), ForeignKey("cv_images.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("cv_tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class RegionRow(Base):
    __tablename__ = "cv_regions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    image_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("cv_images.id", ondelete="CASCADE"), nullable=False, index=True
    )
    tag_id: Mapped[str] = mapped_column(String(36), ForeignKey("cv_tags.id", ondelete="CASCADE"), nullable=False,
                                        index=True)
    left: Mapped[float] = mapped_column(Float, nullable=False)
    top: Mapped[float] = mapped_column(Float, nullable=False)
    width: Mapped[float] = mapped_column(Float, nullable=False)
    height: Mapped[float] = mapped_column(Float, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class IterationRow(Base):
    """An iteration is trained by a Tailor model (`model_name`): the Image Analysis face sees that model too."""

    __tablename__ = "cv_iterations"
    __table_args__ = (UniqueConstraint("project_id", "publish_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("cv_projects.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    model_name: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    training_type: Mapped[str] = mapped_column(String(16), nullable=False)
    reserved_budget_hours: Mapped[float] = mapped_column(Float, nullable=False)
    domain_id: Mapped[str] = mapped_column(String(36), nullable=False)
    classification_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # The tags it was trained on, [[id, name], ...] in the model's class order: a tag renamed or deleted later
    # does not change what the model answers.
    tags: Mapped[list[list[str]]] = mapped_column(JSON, nullable=False, default=list)
    publish_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    prediction_resource_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PredictionRow(Base):
    """A prediction kept with its image (quick tests and predictions not sent to `nostore`), for the portal to
    show and to add to training. Kept until deleted."""

    __tablename__ = "cv_predictions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("cv_projects.id", ondelete="CASCADE"), nullable=False, index=True
    )
    iteration_id: Mapped[str] = mapped_column(String(36), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    format: Mapped[str] = mapped_column(String(8), nullable=False)
    application: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # [[probability, tag id, tag name, [left, top, width, height] or null], ...], most probable first
    predictions: Mapped[list[list[Any]]] = mapped_column(JSON, nullable=False, default=list)
