"""tenancy: workspaces, members, clusters, bindings, settings, changes

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("revision", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("revision", name=op.f("pk_changes")),
    )
    op.create_table(
        "clusters",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("server", sa.Text(), nullable=False),
        sa.Column("kubeconfig", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_clusters")),
    )
    op.create_table(
        "settings",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_settings")),
    )
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alias", sa.String(length=63), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint("alias", name=op.f("uq_workspaces_alias")),
    )
    op.create_table(
        "bindings",
        sa.Column("cluster", sa.String(length=63), nullable=False),
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["cluster"], ["clusters.name"], name=op.f("fk_bindings_cluster"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_bindings_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cluster", "namespace", name=op.f("pk_bindings")),
    )
    op.create_index("ix_bindings_workspace_id", "bindings", ["workspace_id"], unique=False)
    op.create_table(
        "members",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=253), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_members_workspace_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "username", name=op.f("pk_members")),
    )
    op.create_index("ix_members_username", "members", ["username"], unique=False)
    # Watchers LISTEN on this channel; the payload is the new revision.
    op.execute(
        """
        CREATE FUNCTION notify_tenancy_change() RETURNS trigger AS $$
        BEGIN
            PERFORM pg_notify('tenancy_changes', NEW.revision::text);
            RETURN NEW;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER changes_notify AFTER INSERT ON changes "
        "FOR EACH ROW EXECUTE FUNCTION notify_tenancy_change()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER changes_notify ON changes")
    op.execute("DROP FUNCTION notify_tenancy_change()")
    op.drop_index("ix_members_username", table_name="members")
    op.drop_table("members")
    op.drop_index("ix_bindings_workspace_id", table_name="bindings")
    op.drop_table("bindings")
    op.drop_table("workspaces")
    op.drop_table("settings")
    op.drop_table("clusters")
    op.drop_table("changes")
