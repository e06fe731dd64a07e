"""Tables. Column names are the store's own; the wire names live in tailor.api.schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Integer, String, Text, UniqueConstraint
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
    # Needed to read the blobs again at training time; never sent back to a client.
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
    A table of its own rather than a column of `models`: `create_all` adds it to an existing database, which has
    no migrations."""

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
