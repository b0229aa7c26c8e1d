"""drift: what Jenkins held after our last push, and item events waiting to be checked

`pushed_config_sha` is the SHA-256 of the job's config.xml as Jenkins answered it right after
Workbench's last push (read back, so Jenkins's own re-serialisation is part of the baseline);
`drift_hint` is non-empty while an item event about the job waits for the background check
("updated", "deleted", "moved:<new full name>").

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "pipelines",
        sa.Column("pushed_config_sha", sa.String(length=64), server_default="", nullable=False),
    )
    op.add_column(
        "pipelines",
        sa.Column("drift_hint", sa.String(length=255), server_default="", nullable=False),
    )
    op.create_index(
        "ix_pipelines_drift_hint",
        "pipelines",
        ["id"],
        postgresql_where=sa.text("drift_hint <> ''"),
    )


def downgrade() -> None:
    op.drop_index("ix_pipelines_drift_hint", table_name="pipelines")
    op.drop_column("pipelines", "drift_hint")
    op.drop_column("pipelines", "pushed_config_sha")
