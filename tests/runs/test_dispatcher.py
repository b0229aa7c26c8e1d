"""The dispatcher keeps unfinished runs current without anyone reading them, a read
refreshes an unfinished run without waiting for the dispatcher, and the store's state machine
never moves a run backwards."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.conftest import eventually
from tests.runs.conftest import CI, declarative


async def state_in_database(ci: CI, seq: int) -> str:
    state, _ = await stored(ci, seq)
    return state


async def stored(ci: CI, seq: int) -> tuple[str, int | None]:
    """The run's state and queue item id as the database holds them."""
    assert ci.stack.settings.database_url
    connection = await asyncpg.connect(ci.stack.settings.database_url)
    try:
        row = await connection.fetchrow(
            "SELECT state, queue_id FROM runs WHERE workspace_id = $1 AND seq = $2",
            ci.workspace_id,
            seq,
        )
    finally:
        await connection.close()
    assert row is not None
    return str(row["state"]), row["queue_id"]


async def test_reading_an_unfinished_run_refreshes_it_from_jenkins(ci: CI) -> None:
    # The dispatcher still starts runs when woken, but refreshes them only once an hour.
    ci.stack.devops.dispatcher.interval = 3600
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    run_id = await ci.started("build")

    async def handed_to_jenkins() -> bool:
        return (await stored(ci, 1))[1] is not None

    await eventually(handed_to_jenkins, within=15)
    job = ci.jenkins.item(f"{ci.workspace_id}/build")
    await eventually(lambda: job.builds() and job.builds()[-1].result, within=15)
    before = await state_in_database(ci, 1)

    read = await ci.get("build", f"/runs/{run_id}")

    assert before == "QUEUE"  # handed to Jenkins, finished there, not refreshed since
    assert read.json()["state"] == "SUCCESS"
    assert await state_in_database(ci, 1) == "SUCCESS"


async def test_unread_run_is_brought_to_its_final_state_by_the_dispatcher(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    await ci.started("build")

    for _ in range(100):
        if await state_in_database(ci, 1) == "SUCCESS":
            break
        await asyncio.sleep(0.1)

    assert await state_in_database(ci, 1) == "SUCCESS"


async def test_finished_run_never_moves_back(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    run_id = await ci.started("build")
    await ci.wait("build", run_id)
    store = ci.stack.devops.runs
    _, run = await store.get(ci.workspace_id, "build", int(run_id))

    moved = await store.move(run, "RUNNING")
    again = await store.move(run, "FAILED")

    assert moved is None and again is None
    assert await state_in_database(ci, 1) == "SUCCESS"
