"""ci: jenkins instances, workspace ci, pipelines, runs, run details

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jenkins_instances",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("username", sa.String(length=253), nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_jenkins_instances")),
    )
    op.create_table(
        "pipelines",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("spec", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("jenkinsfile", sa.Text(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("group_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("synced_generation", sa.Integer(), nullable=False),
        sa.Column("sync_error", sa.Text(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_seq", sa.Integer(), nullable=False),
        sa.Column("last_run_state", sa.String(length=16), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("total_runs", sa.Integer(), nullable=False),
        sa.Column("total_successes", sa.Integer(), nullable=False),
        sa.Column("weather", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_pipelines_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipelines")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_pipelines_workspace_id_name")),
    )
    op.create_index(
        "ix_pipelines_workspace_created", "pipelines", ["workspace_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_pipelines_workspace_last_run",
        "pipelines",
        ["workspace_id", "last_run_at"],
        unique=False,
    )
    op.create_table(
        "workspace_ci",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("jenkins", sa.String(length=63), nullable=True),
        sa.Column("max_concurrent_runs", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["jenkins"],
            ["jenkins_instances.name"],
            name=op.f("fk_workspace_ci_jenkins"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workspace_ci_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_workspace_ci")),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("jenkins", sa.String(length=63), nullable=False),
        sa.Column("queue_id", sa.BigInteger(), nullable=True),
        sa.Column("build_number", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("trigger_type", sa.String(length=16), nullable=False),
        sa.Column("started_by", sa.String(length=253), nullable=False),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline_id"], ["pipelines.id"], name=op.f("fk_runs_pipeline_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint("pipeline_id", "seq", name=op.f("uq_runs_pipeline_id_seq")),
    )
    op.create_index(
        "ix_runs_pipeline_seq_desc",
        "runs",
        ["pipeline_id", sa.literal_column("seq DESC")],
        unique=False,
    )
    op.create_index(
        "ix_runs_unfinished",
        "runs",
        ["workspace_id", "state"],
        unique=False,
        postgresql_where=sa.text("state IN ('QUEUE', 'RUNNING', 'PAUSED')"),
    )
    op.create_table(
        "run_details",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("content", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "fetched_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_details_run_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "kind", "key", name=op.f("pk_run_details")),
    )


def downgrade() -> None:
    op.drop_table("run_details")
    op.drop_index(
        "ix_runs_unfinished",
        table_name="runs",
        postgresql_where=sa.text("state IN ('QUEUE', 'RUNNING', 'PAUSED')"),
    )
    op.drop_index("ix_runs_pipeline_seq_desc", table_name="runs")
    op.drop_table("runs")
    op.drop_table("workspace_ci")
    op.drop_index("ix_pipelines_workspace_last_run", table_name="pipelines")
    op.drop_index("ix_pipelines_workspace_created", table_name="pipelines")
    op.drop_table("pipelines")
    op.drop_table("jenkins_instances")
