"""previous Jenkins instances: where a moved workspace's old folder still waits to be removed

`workspace_ci.previous_jenkins` lists the instances a workspace used before its current one
whose folder the syncer has not removed yet. `SetWorkspaceJenkins` adds the instance it moves
the workspace away from (and drops the one it moves to); the syncer removes each name once
the new instance has every job and the old folder is gone (`ForgetPreviousJenkins`). No
foreign key: a previous instance may be unregistered meanwhile, and the syncer then forgets it.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "workspace_ci",
        sa.Column(
            "previous_jenkins",
            postgresql.ARRAY(sa.String(length=63)),
            server_default="{}",
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("workspace_ci", "previous_jenkins")
