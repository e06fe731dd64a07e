"""The tables as tailor/store/_tables.py declared them when Store.connect still ran create_all (commit 1752efa),
frozen here: databases made by that code are what the first migration must adopt without losing a row.

Never edit this file to follow _tables.py; it is the past.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Float, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()

datasets = Table(
    "datasets", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), unique=True, nullable=False),
    Column("annotation_kind", String(32), nullable=False),
    Column("annotation_file_uris", JSON, nullable=False),
    Column("custom_properties", JSON, nullable=False),
    Column("auth_kind", String(32), nullable=False),
    Column("sas_token", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("etag", String(64), nullable=False),
)

models = Table(
    "models", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), unique=True, nullable=False),
    Column("status", String(32), nullable=False, index=True),
    Column("training_dataset_name", String(255), nullable=False),
    Column("budget_hours", Float, nullable=False),
    Column("model_kind", String(32), nullable=False),
    Column("test_dataset_name", String(255), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("billed_seconds", Float, nullable=False),
    Column("performance", JSON, nullable=True),
    Column("error_code", String(32), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("progress", JSON, nullable=False),
    Column("artifact", Text, nullable=True),
    Column("owner", String(64), nullable=True, index=True),
)

model_usage = Table(
    "model_usage", metadata,
    Column("name", String(255), primary_key=True),
    Column("last_used_at", DateTime(timezone=True), nullable=False),
)

evaluations = Table(
    "evaluations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_name", String(255), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("test_dataset_name", String(255), nullable=False),
    Column("status", String(32), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("performance", JSON, nullable=True),
    Column("error_code", String(32), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("report", Text, nullable=True),
    UniqueConstraint("model_name", "name"),
)
