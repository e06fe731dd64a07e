"""Credentials encrypted at rest: the SAS tokens kept for datasets, and the annotation URIs that carry a SAS of their
own, stored in plain text until now, are sealed with TAILOR_SECRET_KEY (tailor.secrets, tailor.store._credentials).

Revision 0003, after 0002. No table changes: two columns of `datasets` are rewritten in place, row by row, inside the
upgrade's one transaction, so that a failure leaves every token as it was. The key comes from Store.connect through
the Alembic configuration (`config.attributes["secrets"]`, tailor.store._migrate.config); a database with no
credential in it (a new one, a scratch one) needs none. The downgrade opens them again, with the same key.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import context, op

from tailor.secrets import SecretBox
from tailor.store._credentials import Columns, holds_credentials, opened, resealed

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The columns as this revision found them: a table of its own, not _tables.py's, which may change after it.
datasets = sa.table(
    "datasets",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("sas_token", sa.Text),
    sa.column("annotation_file_uris", sa.JSON),
)


def upgrade() -> None:
    _rewrite(resealed)


def downgrade() -> None:
    _rewrite(opened)


def _rewrite(change: Callable[[SecretBox, str | None, list[str], str], Columns]) -> None:
    # The sealing itself is the store's (tailor.store._credentials), not a copy frozen here: what this revision
    # writes must be what the store reads.
    box: SecretBox = context.config.attributes.get("secrets") or SecretBox(())
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(datasets.c.id, datasets.c.name, datasets.c.sas_token, datasets.c.annotation_file_uris)
    ).all()
    for row in rows:
        if not holds_credentials(row.sas_token, row.annotation_file_uris):
            continue
        token, uris = change(box, row.sas_token, row.annotation_file_uris, f"dataset {row.name!r}")
        connection.execute(
            sa.update(datasets).where(datasets.c.id == row.id).values(sas_token=token, annotation_file_uris=uris)
        )
