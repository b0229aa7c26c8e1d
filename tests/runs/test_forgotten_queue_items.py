"""A run whose queue item Jenkins forgot is found by its queue id among the job's builds.

Jenkins answers for a queue item only about five minutes after it left the queue, and not
at all after a restart. A run Workbench handed to Jenkins but has not refreshed since (the
dispatcher here refreshes once an hour and no events flow) must still reach the state of
the build its queue item became; only a run no build came from is UNKNOWN.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from sandbox.jenkins._jenkins import LEFT_ITEM_RETENTION
from tests.runs.conftest import CI, declarative

SCRIPT = declarative(("Build", "echo 'hi'"))
RUN = (
    "SELECT state, queue_id, build_number, description FROM runs"
    " WHERE workspace_id = $1 AND seq = $2"
)


async def stored(ci: CI, seq: int) -> dict[str, Any]:
    return await ci.fetch_row(RUN, ci.workspace_id, seq)


async def _finished_in_jenkins_only(ci: CI, pipeline: str) -> tuple[str, int]:
    """A run handed to Jenkins and finished there, unrefreshed: (run id, its queue id)."""
    ci.stack.devops.dispatcher.interval = 3600
    await ci.pipeline(pipeline, SCRIPT)
    run_id = await ci.started(pipeline)
    job = ci.jenkins.item(f"{ci.workspace_id}/{pipeline}")

    async with asyncio.timeout(10):
        while True:
            handed = (await stored(ci, 1))["queue_id"] is not None
            if handed and job.builds() and job.builds()[0].result:
                break
            await asyncio.sleep(0.05)

    row = await stored(ci, 1)
    assert row["state"] == "QUEUE" and row["build_number"] is None
    return run_id, int(row["queue_id"])


async def _queue_item_status(ci: CI, queue_id: int) -> int:
    auth = (ci.jenkins.admin_user, ci.jenkins.api_token)
    async with httpx.AsyncClient(base_url=ci.jenkins.url, auth=auth) as http:
        return (await http.get(f"queue/item/{queue_id}/api/json")).status_code


async def test_run_follows_its_build_after_a_jenkins_restart(ci: CI) -> None:
    run_id, queue_id = await _finished_in_jenkins_only(ci, "build")
    await ci.jenkins.restart()
    assert await _queue_item_status(ci, queue_id) == 404

    read = await ci.get("build", f"/runs/{run_id}")

    assert read.status_code == 200, read.text
    assert read.json()["state"] == "SUCCESS"
    row = await stored(ci, 1)
    assert row["state"] == "SUCCESS"
    assert row["build_number"] == 1


async def test_run_follows_its_build_once_the_queue_item_expired(ci: CI) -> None:
    _, queue_id = await _finished_in_jenkins_only(ci, "build")
    await ci.jenkins.clock.sleep(LEFT_ITEM_RETENTION + 1)
    assert await _queue_item_status(ci, queue_id) == 404

    # The dispatcher's own refresh, nobody reading the run.
    await ci.stack.devops.dispatcher.pass_once(refresh=True)

    row = await stored(ci, 1)
    assert row["state"] == "SUCCESS"
    assert row["build_number"] == 1


async def test_run_no_build_came_from_is_unknown(ci: CI) -> None:
    run_id, _ = await _finished_in_jenkins_only(ci, "build")
    auth = (ci.jenkins.admin_user, ci.jenkins.api_token)
    async with httpx.AsyncClient(base_url=ci.jenkins.url, auth=auth) as http:
        deleted = await http.post(f"job/{ci.workspace_id}/job/build/1/doDelete")
    assert deleted.status_code < 400, deleted.text
    await ci.jenkins.restart()

    read = await ci.get("build", f"/runs/{run_id}")

    assert read.json()["state"] == "UNKNOWN"
    row = await stored(ci, 1)
    assert row["build_number"] is None
    assert "no build of the job came from it" in row["description"]


async def test_a_build_another_run_follows_is_not_taken_twice(ci: CI) -> None:
    first, _ = await _finished_in_jenkins_only(ci, "build")
    assert (await ci.wait("build", first))["state"] == "SUCCESS"
    # A second run claiming the same queue item (as a stale row could).
    await ci.fetch_row(
        "INSERT INTO runs (pipeline_id, workspace_id, seq, jenkins, queue_id, state,"
        " trigger_type, started_by, parameters, description, duration_ms)"
        " SELECT pipeline_id, workspace_id, 2, jenkins, queue_id, 'QUEUE', trigger_type,"
        " started_by, parameters, '', 0 FROM runs WHERE workspace_id = $1 AND seq = 1"
        " RETURNING id",
        ci.workspace_id,
    )
    await ci.jenkins.restart()

    read = await ci.get("build", "/runs/2")

    assert read.json()["state"] == "UNKNOWN"
    assert (await stored(ci, 2))["build_number"] is None
    assert (await stored(ci, 1))["build_number"] == 1
