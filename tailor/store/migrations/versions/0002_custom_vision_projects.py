"""Custom Vision: projects and what they own (tags, images, the images' tags and regions, iterations, stored
predictions).

Revision 0002, after 0001. New tables only: nothing that was stored changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cv_projects',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('domain_id', sa.String(length=36), nullable=False),
    sa.Column('classification_type', sa.String(length=16), nullable=True),
    sa.Column('target_export_platforms', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('cv_images',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('image_metadata', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['cv_projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'digest')
    )
    with op.batch_alter_table('cv_images', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cv_images_project_id'), ['project_id'], unique=False)

    op.create_table('cv_iterations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('model_name', sa.String(length=255), nullable=False),
    sa.Column('training_type', sa.String(length=16), nullable=False),
    sa.Column('reserved_budget_hours', sa.Float(), nullable=False),
    sa.Column('domain_id', sa.String(length=36), nullable=False),
    sa.Column('classification_type', sa.String(length=16), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('publish_name', sa.String(length=255), nullable=True),
    sa.Column('prediction_resource_id', sa.Text(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['cv_projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('model_name'),
    sa.UniqueConstraint('project_id', 'publish_name')
    )
    with op.batch_alter_table('cv_iterations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cv_iterations_project_id'), ['project_id'], unique=False)

    op.create_table('cv_predictions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('iteration_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('application', sa.String(length=255), nullable=True),
    sa.Column('predictions', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['cv_projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('cv_predictions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cv_predictions_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_cv_predictions_project_id'), ['project_id'], unique=False)

    op.create_table('cv_tags',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('name_key', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['cv_projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'name_key')
    )
    with op.batch_alter_table('cv_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cv_tags_project_id'), ['project_id'], unique=False)

    op.create_table('cv_image_tags',
    sa.Column('image_id', sa.String(length=36), nullable=False),
    sa.Column('tag_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['cv_images.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['cv_tags.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('image_id', 'tag_id')
    )
    with op.batch_alter_table('cv_image_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cv_image_tags_tag_id'), ['tag_id'], unique=False)

    op.create_table('cv_regions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('image_id', sa.String(length=36), nullable=False),
    sa.Column('tag_id', sa.String(length=36), nullable=False),
    sa.Column('left', sa.Float(), nullable=False),
    sa.Column('top', sa.Float(), nullable=False),
    sa.Column('width', sa.Float(), nullable=False),
    sa.Column('height', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['cv_images.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['cv_tags.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('cv_regions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cv_regions_image_id'), ['image_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cv_regions_tag_id'), ['tag_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('cv_regions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cv_regions_tag_id'))
        batch_op.drop_index(batch_op.f('ix_cv_regions_image_id'))

    op.drop_table('cv_regions')
    with op.batch_alter_table('cv_image_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cv_image_tags_tag_id'))

    op.drop_table('cv_image_tags')
    with op.batch_alter_table('cv_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cv_tags_project_id'))

    op.drop_table('cv_tags')
    with op.batch_alter_table('cv_predictions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cv_predictions_project_id'))
        batch_op.drop_index(batch_op.f('ix_cv_predictions_created_at'))

    op.drop_table('cv_predictions')
    with op.batch_alter_table('cv_iterations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cv_iterations_project_id'))

    op.drop_table('cv_iterations')
    with op.batch_alter_table('cv_images', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cv_images_project_id'))

    op.drop_table('cv_images')
    op.drop_table('cv_projects')
