"""runs: notify dispatchers when a run ends

A run that reaches a final state frees a place under its workspace's run cap, whichever
replica or path moved it (a poll, a Jenkins event). The trigger notifies the `runs_ended`
channel with the workspace id, so every devops-server's dispatcher starts the runs waiting
there at once instead of on its next periodic pass.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION runs_notify_ended() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('runs_ended', NEW.workspace_id::text);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER runs_ended AFTER UPDATE OF state ON runs FOR EACH ROW
        WHEN (OLD.state IN ('QUEUE', 'RUNNING', 'PAUSED')
              AND NEW.state NOT IN ('QUEUE', 'RUNNING', 'PAUSED'))
        EXECUTE FUNCTION runs_notify_ended()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS runs_ended ON runs")
    op.execute("DROP FUNCTION IF EXISTS runs_notify_ended()")
