"""The workspace's run cap: runs beyond it wait in Workbench's queue and start in order."""

from __future__ import annotations

import asyncio
import itertools

import asyncpg

from tests.runs.conftest import CI, declarative
from tests.runs.test_life_cycle import input_step

QUOTA = "/apis/pipeline.amamba.io/v1alpha1/management/workspaces/{}/quota"


async def cap(ci: CI, runs: int) -> None:
    answer = await ci.http.put(
        QUOTA.format(ci.workspace_id),
        json={"maxConcurrentRuns": runs},
        headers=ci.stack.auth("admin"),
    )
    assert answer.status_code == 200, answer.text


async def test_run_beyond_the_cap_waits_in_queue_until_the_first_ends(ci: CI) -> None:
    await cap(ci, 1)
    await ci.pipeline("gate", declarative(("Gate", "input message: 'Go?'")))
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    first = await ci.started("gate")
    await ci.wait("gate", first, ("PAUSED",))

    second = await ci.started("build")
    await asyncio.sleep(0.5)
    waiting = (await ci.get("build", f"/runs/{second}")).json()
    await ci.post("gate", f"/runs/{first}:cancel")

    assert waiting["state"] == "QUEUE"
    assert ci.jenkins.item(f"{ci.workspace_id}/build").runs == {}
    assert (await ci.wait("build", second))["state"] == "SUCCESS"


async def test_waiting_runs_start_in_the_order_they_were_asked_for(ci: CI) -> None:
    await cap(ci, 1)
    await ci.pipeline("build", declarative(("Build", "sh 'sleep 5'")))
    run_ids = [await ci.started("build") for _ in range(3)]

    finished = [await ci.wait("build", r) for r in run_ids]

    for earlier, later in itertools.pairwise(finished):
        ended = int(earlier["startAt"]) + int(earlier["duration"])
        assert int(later["startAt"]) >= ended


async def test_no_cap_starts_every_run_at_once(ci: CI) -> None:
    await ci.pipeline("gate", declarative(("Gate", "input message: 'Go?'")))
    first = await ci.started("gate")
    second = await ci.started("gate")

    states = [(await ci.wait("gate", r, ("PAUSED",)))["state"] for r in (first, second)]

    assert states == ["PAUSED", "PAUSED"]


async def test_runs_asked_for_together_are_separate_builds(ci: CI) -> None:
    await ci.pipeline("gate", declarative(("Gate", "input message: 'Go?'")))
    run_ids = [await ci.started("gate") for _ in range(3)]

    for run_id in run_ids:
        await ci.wait("gate", run_id, ("PAUSED",))

    assert sorted(ci.jenkins.item(f"{ci.workspace_id}/gate").runs) == [1, 2, 3]


async def test_identical_runs_of_a_serial_pipeline_each_get_their_own_build(ci: CI) -> None:
    await ci.pipeline("gate", declarative(("Gate", "input message: 'Go?'")))
    answer = await ci.http.put(
        ci.url("gate"),
        json={"buildConfig": {"disableConcurrence": True}, "type": "PIPELINE_TYPE_CUSTOM"},
        headers=ci.stack.auth("admin"),
    )
    assert answer.status_code == 200, answer.text
    run_ids = [await ci.started("gate") for _ in range(3)]
    await asyncio.sleep(0.5)

    for run_id in run_ids:
        await ci.wait("gate", run_id, ("PAUSED",), within=20)
        node, step = await input_step(ci, "gate", run_id)
        await ci.post("gate", f"/runs/{run_id}/nodes/{node}/steps/{step}:process")
        assert (await ci.wait("gate", run_id))["state"] == "SUCCESS"

    assert sorted(ci.jenkins.item(f"{ci.workspace_id}/gate").runs) == [1, 2, 3]


async def test_run_ended_elsewhere_starts_the_waiting_run_at_once(ci: CI) -> None:
    await cap(ci, 1)
    await ci.pipeline("gate", declarative(("Gate", "input message: 'Go?'")))
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    first = await ci.started("gate")
    await ci.wait("gate", first, ("PAUSED",))
    second = await ci.started("build")
    ci.stack.devops.dispatcher.interval = 60.0
    await asyncio.sleep(0.3)
    assert ci.stack.settings.database_url

    connection = await asyncpg.connect(ci.stack.settings.database_url)
    await connection.execute(
        "UPDATE runs SET state = 'CANCELED' WHERE workspace_id = $1 AND state = 'PAUSED'",
        ci.workspace_id,
    )
    await connection.close()

    # At once, by the run that ended, not by the dispatcher's next pass a minute later.
    assert (await ci.wait("build", second, within=20))["state"] == "SUCCESS"
