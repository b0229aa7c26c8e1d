"""runs: notify watchers of every run change

Followers of a run or of a workspace's runs (`ci.run_watch`) LISTEN on `run_changes`. The
trigger fires on every new run and on every update that changes what a follower sees (`state`,
`updated_at`, `duration_ms`), whichever path made it (the dispatcher's refresh, a Jenkins event
inside its transaction, a user's action, another replica). The payload is
`<workspace_id>:<run id>`; it only wakes readers, who re-read the database, so a lost
notification costs latency, never a change. NOTIFY is delivered at commit, so a reader never
wakes before the change is visible.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION runs_notify_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('run_changes', NEW.workspace_id::text || ':' || NEW.id::text);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER run_inserted AFTER INSERT ON runs FOR EACH ROW
        EXECUTE FUNCTION runs_notify_changed()
        """
    )
    op.execute(
        """
        CREATE TRIGGER run_changed AFTER UPDATE ON runs FOR EACH ROW
        WHEN (OLD.state IS DISTINCT FROM NEW.state
              OR OLD.updated_at IS DISTINCT FROM NEW.updated_at
              OR OLD.duration_ms IS DISTINCT FROM NEW.duration_ms)
        EXECUTE FUNCTION runs_notify_changed()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS run_changed ON runs")
    op.execute("DROP TRIGGER IF EXISTS run_inserted ON runs")
    op.execute("DROP FUNCTION IF EXISTS runs_notify_changed()")
