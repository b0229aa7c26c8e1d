"""events: applied Jenkins event ids, rejected envelopes

A branch of its own (label `events`), so it needs no place in the CI chain of migrations;
`workbench migrate` upgrades every head.

Revision ID: 0101
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0101"
down_revision = "0002"
branch_labels = ("events",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jenkins_events",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("instance", sa.String(length=63), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("outcome", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jenkins_events")),
    )
    op.create_index("ix_jenkins_events_received_at", "jenkins_events", ["received_at"])
    op.create_table(
        "rejected_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("instance", sa.String(length=63), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_events")),
    )


def downgrade() -> None:
    op.drop_table("rejected_events")
    op.drop_index("ix_jenkins_events_received_at", table_name="jenkins_events")
    op.drop_table("jenkins_events")
