"""Two devops-server replicas on one database push one pipeline: the newest one wins.

Replica B reads the pipeline and is held just before it talks to Jenkins; meanwhile a save
through replica A's stack makes a newer generation and pushes it. Whatever order the two
pushes then reach Jenkins in, Jenkins must end with the newest definition and the record
must say exactly that.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from services.devops_server.app import DevopsServer
from services.devops_server.ci.pipelines import PUSH_LOCK
from tests.conftest import stack_settings
from tests.pipelines.conftest import CI

OLD = "pipeline { agent any\n stages { stage('Old') { steps { echo 'old' } } } }\n"
NEW = "pipeline { agent any\n stages { stage('New') { steps { echo 'new' } } } }\n"


@pytest.fixture
async def replica(ci: CI) -> AsyncIterator[DevopsServer]:
    """A second devops-server on the same database, with the same secrets."""
    first = ci.stack.settings
    settings = stack_settings(
        first.database_url,
        jwt_secret=first.jwt_secret,
        internal_token=first.internal_token,
        encryption_key=first.encryption_key,
    )
    server = DevopsServer(settings)
    await server.start()
    yield server
    await server.stop()


class Gate:
    """Holds the first `for_workspace` of a pool (the push's first step after its read)."""

    def __init__(self, pool: Any) -> None:
        self.reached = asyncio.Event()
        self.opened = asyncio.Event()
        self._pool = pool
        self._original = pool.for_workspace
        pool.for_workspace = self._held

    async def _held(self, workspace_id: int) -> Any:
        if not self.reached.is_set():
            self.reached.set()
            await self.opened.wait()
        return await self._original(workspace_id)


async def _waiting_for_push_lock(url: str, *, within: float) -> bool:
    connection = await asyncpg.connect(url)
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                while True:
                    waiting = await connection.fetchval(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                        " AND classid = $1::bigint::oid AND NOT granted",
                        PUSH_LOCK,
                    )
                    if waiting:
                        return True
                    await asyncio.sleep(0.02)
        return False
    finally:
        await connection.close()


async def _record(url: str, workspace_id: int, name: str) -> asyncpg.Record:
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(
            "SELECT id, generation, synced_generation, sync_error FROM pipelines"
            " WHERE workspace_id = $1 AND name = $2",
            workspace_id,
            name,
        )
    finally:
        await connection.close()
    assert row is not None
    return row


async def _config_in_jenkins(ci: CI, name: str) -> str:
    auth = (ci.jenkins.admin_user, ci.jenkins.api_token)
    async with httpx.AsyncClient(base_url=ci.jenkins.url, auth=auth) as jenkins:
        answer = await jenkins.get(f"job/{ci.workspace_id}/job/{name}/config.xml")
    assert answer.status_code == 200, answer.text
    return answer.text


async def test_older_push_held_by_one_replica_never_overwrites_a_newer_one(
    ci: CI, replica: DevopsServer
) -> None:
    url = ci.stack.settings.database_url
    assert (await ci.create("race")).status_code == 200
    assert (await ci.put_jenkinsfile("race", OLD)).status_code == 200
    pipeline_id = (await _record(url, ci.workspace_id, "race"))["id"]

    # Replica B reads the pipeline (the old definition) and is held before Jenkins.
    gate = Gate(replica.jenkins)
    older = asyncio.create_task(replica.pipeline_pusher.push(pipeline_id, force=True))
    async with asyncio.timeout(15):
        await gate.reached.wait()

    # A save through replica A makes the new definition and pushes it in the request.
    newer = asyncio.create_task(ci.put_jenkinsfile("race", NEW))
    waited = await _waiting_for_push_lock(url, within=15.0)
    gate.opened.set()
    assert await older == ""
    assert (await newer).status_code == 200

    record = await _record(url, ci.workspace_id, "race")
    held = await _config_in_jenkins(ci, "race")
    assert "echo 'new'" in held, "Jenkins was left with the older definition"
    assert waited, "replica A's push did not wait for replica B's"
    assert record["synced_generation"] == record["generation"]
    assert record["sync_error"] == ""


async def test_push_lock_is_per_pipeline(ci: CI, replica: DevopsServer) -> None:
    assert (await ci.create("held")).status_code == 200
    assert (await ci.create("free")).status_code == 200
    url = ci.stack.settings.database_url
    held_id = (await _record(url, ci.workspace_id, "held"))["id"]
    free_id = (await _record(url, ci.workspace_id, "free"))["id"]

    async with replica.pipeline_pusher.lock(held_id):
        async with asyncio.timeout(15):
            assert await ci.stack.devops.pipeline_pusher.push(free_id, force=True) == ""
        blocked = asyncio.create_task(ci.stack.devops.pipeline_pusher.push(held_id, force=True))
        assert await _waiting_for_push_lock(url, within=15.0)
        assert not blocked.done()

    async with asyncio.timeout(15):
        assert await blocked == ""


async def test_save_waiting_on_another_replica_answers_within_its_timeout(
    ci: CI, replica: DevopsServer
) -> None:
    assert (await ci.create("slow")).status_code == 200
    url = ci.stack.settings.database_url
    pipeline_id = (await _record(url, ci.workspace_id, "slow"))["id"]
    ci.stack.devops.pipeline_pusher.request_timeout = 0.5

    async with replica.pipeline_pusher.lock(pipeline_id):
        async with asyncio.timeout(15):
            saved = await ci.put_jenkinsfile("slow", NEW)
        record = await _record(url, ci.workspace_id, "slow")

    assert saved.status_code == 200, saved.text
    assert record["generation"] > record["synced_generation"]
    assert "within 0.5 s" in record["sync_error"]

    # Once the other replica lets go, the loop pushes the save.
    ci.stack.devops.pipeline_sync.kick()
    async with asyncio.timeout(10):
        while True:
            if "echo 'new'" in await _config_in_jenkins(ci, "slow"):
                break
            await asyncio.sleep(0.05)


async def test_pushes_beyond_the_concurrency_wait_for_a_slot(ci: CI) -> None:
    assert (await ci.create("first")).status_code == 200
    assert (await ci.create("second")).status_code == 200
    url = ci.stack.settings.database_url
    first_id = (await _record(url, ci.workspace_id, "first"))["id"]
    second_id = (await _record(url, ci.workspace_id, "second"))["id"]
    pusher = ci.stack.devops.pipeline_pusher
    pusher._slots = asyncio.Semaphore(1)  # one push at a time in this process

    async with pusher.lock(first_id):
        other = asyncio.create_task(pusher.push(second_id, force=True))
        await asyncio.sleep(0.3)
        # Another pipeline's push waits for the slot, not for Jenkins or the database.
        assert not other.done()
        assert not await _waiting_for_push_lock(url, within=0.1)

    async with asyncio.timeout(10):
        assert await other == ""
