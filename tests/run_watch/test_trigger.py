"""Migration 0006: `run_changes` is notified for every new run and every change a follower
sees (state, updated_at, duration_ms), and not for other updates."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.conftest import eventually
from tests.runs.conftest import CI, declarative

END = "end of the statement's notifications"


async def notifications(ci: CI, statement: str, *args: Any) -> list[str]:
    """The `run_changes` payloads sent while `statement` runs."""
    assert ci.stack.settings.database_url
    dsn = ci.stack.settings.database_url.replace("+asyncpg", "")
    listener, writer = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    got: list[str] = []
    try:
        await listener.add_listener("run_changes", lambda *a: got.append(a[3]))
        await writer.execute(statement, *args)
        # Notifications arrive in commit order: once this marker is in, so is all the
        # statement sent, however late the server delivers.
        await writer.execute("SELECT pg_notify('run_changes', $1)", END)
        await eventually(lambda: END in got)
    finally:
        await listener.close()
        await writer.close()
    return got[: got.index(END)]


async def run_row(ci: CI) -> int:
    await ci.pipeline("build", declarative(("Build", "sh 'sleep 600'")))
    await ci.jenkins.down()  # the run stays in Workbench's queue, untouched by the dispatcher
    await ci.started("build")
    return 1


async def test_a_state_change_notifies_the_workspace_and_the_run(ci: CI) -> None:
    await run_row(ci)
    got = await notifications(
        ci,
        "UPDATE runs SET state = 'CANCELED' WHERE workspace_id = $1 RETURNING id",
        ci.workspace_id,
    )
    assert len(got) == 1 and got[0].startswith(f"{ci.workspace_id}:")


async def test_an_update_followers_do_not_see_notifies_nothing(ci: CI) -> None:
    await run_row(ci)
    got = await notifications(
        ci, "UPDATE runs SET description = 'x' WHERE workspace_id = $1", ci.workspace_id
    )
    assert got == []


async def test_a_new_run_notifies(ci: CI) -> None:
    await run_row(ci)
    got = await notifications(
        ci,
        "INSERT INTO runs (pipeline_id, workspace_id, seq, jenkins, state, trigger_type,"
        " started_by, parameters, description, duration_ms)"
        " SELECT pipeline_id, workspace_id, 2, '', 'QUEUE', 'MANUAL', '', '[]', '', 0"
        " FROM runs WHERE workspace_id = $1",
        ci.workspace_id,
    )
    assert len(got) == 1 and got[0].startswith(f"{ci.workspace_id}:")
