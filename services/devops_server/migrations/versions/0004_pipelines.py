"""pipelines: the name a pipeline's job has in Jenkins, indexes, jobs still to delete

`jenkins_name` is the job name last pushed (empty before the first push), so a rename made
while Jenkins was down is applied as a rename later rather than leaving the old job behind.
The partial index keeps the sync loop's "what is not in Jenkins yet" query cheap whatever the
number of pipelines; `ix_pipelines_workspace_recent` serves the console's default list (a
workspace's pipelines, most recent run first, never-run last) one page at a time.
`pipeline_removals` holds the jobs of deleted pipelines that Jenkins was not there to
delete (see services/devops_server/ci/removals.py).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "pipelines",
        sa.Column("jenkins_name", sa.String(length=255), server_default="", nullable=False),
    )
    op.create_index(
        "ix_pipelines_pending_sync",
        "pipelines",
        ["id"],
        unique=False,
        postgresql_where=sa.text("generation > synced_generation"),
    )
    op.create_index(
        "ix_pipelines_workspace_recent",
        "pipelines",
        [
            "workspace_id",
            sa.literal_column("last_run_at DESC NULLS LAST"),
            sa.literal_column("id DESC"),
        ],
        unique=False,
    )

    op.create_table(
        "pipeline_removals",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("job_name", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_removals")),
    )


def downgrade() -> None:
    op.drop_table("pipeline_removals")
    op.drop_index("ix_pipelines_workspace_recent", table_name="pipelines")
    op.drop_index(
        "ix_pipelines_pending_sync",
        table_name="pipelines",
        postgresql_where=sa.text("generation > synced_generation"),
    )
    op.drop_column("pipelines", "jenkins_name")
