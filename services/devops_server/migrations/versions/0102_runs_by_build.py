"""events: runs found by their Jenkins build number

Every run event looks its run up by pipeline and build number (and, the first time, by the
queue item Workbench handed Jenkins); both lookups get an index of their own, partial to the
rows they can match.

Revision ID: 0102
Revises: 0101
"""

import sqlalchemy as sa
from alembic import op

revision = "0102"
down_revision = "0101"
branch_labels = None
depends_on = "0005"


def upgrade() -> None:
    op.create_index(
        "ix_runs_pipeline_build",
        "runs",
        ["pipeline_id", "build_number"],
        postgresql_where=sa.text("build_number IS NOT NULL"),
    )
    op.create_index(
        "ix_runs_pipeline_queue_item",
        "runs",
        ["pipeline_id", "queue_id"],
        postgresql_where=sa.text("build_number IS NULL AND queue_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_runs_pipeline_queue_item", table_name="runs")
    op.drop_index("ix_runs_pipeline_build", table_name="runs")
