"""The schema as Base.metadata.create_all made it before there were migrations: datasets, models, model_usage and
evaluations. A database made then is stamped at this revision rather than migrated (tailor.store._migrate).

Written out by hand, not imported from _tables.py: a revision is history and must not change when the tables do.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("annotation_kind", sa.String(32), nullable=False),
        sa.Column("annotation_file_uris", sa.JSON(), nullable=False),
        sa.Column("custom_properties", sa.JSON(), nullable=False),
        sa.Column("auth_kind", sa.String(32), nullable=False),
        sa.Column("sas_token", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.UniqueConstraint("name"),  # unnamed, as create_all made it (PostgreSQL calls it datasets_name_key)
    )
    op.create_table(
        "models",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("training_dataset_name", sa.String(255), nullable=False),
        sa.Column("budget_hours", sa.Float(), nullable=False),
        sa.Column("model_kind", sa.String(32), nullable=False),
        sa.Column("test_dataset_name", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("billed_seconds", sa.Float(), nullable=False),
        sa.Column("performance", sa.JSON(), nullable=True),
        sa.Column("error_code", sa.String(32), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("artifact", sa.Text(), nullable=True),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.UniqueConstraint("name"),
    )
    op.create_index("ix_models_status", "models", ["status"])
    op.create_index("ix_models_owner", "models", ["owner"])
    op.create_table(
        "model_usage",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("model_name", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("test_dataset_name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("performance", sa.JSON(), nullable=True),
        sa.Column("error_code", sa.String(32), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.UniqueConstraint("model_name", "name"),
    )
    op.create_index("ix_evaluations_model_name", "evaluations", ["model_name"])
    op.create_index("ix_evaluations_status", "evaluations", ["status"])


def downgrade() -> None:
    op.drop_table("evaluations")  # its indexes go with it
    op.drop_table("model_usage")
    op.drop_table("models")
    op.drop_table("datasets")
