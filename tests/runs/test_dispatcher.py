"""The dispatcher keeps unfinished runs current without anyone reading them, and the store's
state machine never moves a run backwards."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.runs.conftest import CI, declarative


async def state_in_database(ci: CI, seq: int) -> str:
    assert ci.stack.settings.database_url
    connection = await asyncpg.connect(ci.stack.settings.database_url)
    try:
        state: str = await connection.fetchval(
            "SELECT state FROM runs WHERE workspace_id = $1 AND seq = $2", ci.workspace_id, seq
        )
    finally:
        await connection.close()
    return state


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
