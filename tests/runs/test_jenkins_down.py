"""Jenkins down: a run asked for waits in QUEUE and starts when Jenkins is back, or ends in
ERROR past the dispatcher's bound; cancelling answers 503 with a clear message."""

from __future__ import annotations

import asyncio

from tests.runs.conftest import CI, declarative
from tests.runs.test_life_cycle import input_step


async def test_run_asked_for_while_jenkins_is_down_waits_in_queue(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    await ci.jenkins.down()

    answer = await ci.run("build")
    await asyncio.sleep(0.3)
    later = await ci.get("build", f"/runs/{answer.json()['runId']}")
    await ci.jenkins.up()

    assert answer.status_code == 200, answer.text
    assert later.json()["state"] == "QUEUE"


async def test_run_waiting_for_jenkins_starts_when_it_is_back(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    await ci.jenkins.down()
    run_id = await ci.started("build")
    await asyncio.sleep(0.3)

    await ci.jenkins.up()

    assert (await ci.wait("build", run_id))["state"] == "SUCCESS"


async def test_run_ends_in_error_once_jenkins_stays_down_past_the_bound(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    ci.stack.devops.dispatcher.give_up_after = 0.3
    await ci.jenkins.down()
    run_id = await ci.started("build")

    run = await ci.wait("build", run_id, ("ERROR",))
    await ci.jenkins.up()

    assert "Jenkins did not answer" in run["description"]


async def test_run_of_a_job_jenkins_lost_ends_in_error_with_its_reason(ci: CI) -> None:
    # In sync by the database's account (no push is due), yet Jenkins has no such job.
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")), job=False)

    run_id = await ci.started("build")
    run = await ci.wait("build", run_id, ("ERROR",))

    assert "Jenkins refused the run" in run["description"]


async def test_run_of_a_job_disabled_in_jenkins_by_hand_ends_in_error(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    job = ci.jenkins.item(f"{ci.workspace_id}/build")
    ci.jenkins.jenkins.set_disabled(job, True, origin=None)

    run_id = await ci.started("build")
    run = await ci.wait("build", run_id, ("ERROR",))

    assert "Jenkins refused the run" in run["description"]
    assert job.builds() == []


async def test_run_of_a_pipeline_saved_while_jenkins_was_down_starts_once_it_is_back(
    ci: CI,
) -> None:
    sync = ci.stack.devops.pipeline_sync
    await sync.stop()  # so only the dispatcher can put the job in Jenkins
    ci.stack.devops.dispatcher.push_every = 0.1
    try:
        await ci.jenkins.down()
        await ci.pipeline("late", declarative(("Build", "echo 'hi'")))
        run_id = await ci.started("late")
        await asyncio.sleep(0.3)
        waiting = (await ci.get("late", f"/runs/{run_id}")).json()
        await ci.jenkins.up()
        run = await ci.wait("late", run_id)
    finally:
        sync.start()

    assert waiting["state"] == "QUEUE"
    assert run["state"] == "SUCCESS", run["description"]
    assert ci.jenkins.item(f"{ci.workspace_id}/late").builds()[-1].number == 1


async def test_run_waiting_for_its_job_ends_in_error_with_the_push_reason(ci: CI) -> None:
    sync = ci.stack.devops.pipeline_sync
    await sync.stop()
    dispatcher = ci.stack.devops.dispatcher
    dispatcher.push_every, dispatcher.give_up_after = 0.1, 0.3
    try:
        await ci.jenkins.down()
        await ci.pipeline("late", declarative(("Build", "echo 'hi'")))
        run_id = await ci.started("late")
        run = await ci.wait("late", run_id, ("ERROR",))
    finally:
        sync.start()

    assert "did not reach Jenkins" in run["description"]
    assert "not pushed" in run["description"]


async def test_cancel_while_jenkins_is_down_is_unavailable(ci: CI) -> None:
    await ci.pipeline("slow", declarative(("Build", "sh 'sleep 600'")))
    run_id = await ci.started("slow")
    await ci.wait("slow", run_id, ("RUNNING",))

    await ci.jenkins.down()
    answer = await ci.post("slow", f"/runs/{run_id}:cancel")
    await ci.jenkins.up()

    assert answer.status_code == 503
    assert "Jenkins is not reachable" in answer.json()["message"]
    assert "not cancelled" in answer.json()["message"]


async def test_cancel_of_a_run_waiting_in_workbench_needs_no_jenkins(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    await ci.jenkins.down()
    run_id = await ci.started("build")

    answer = await ci.post("build", f"/runs/{run_id}:cancel")
    await ci.jenkins.up()

    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "CANCELED"


async def test_input_answer_while_jenkins_is_down_is_unavailable(ci: CI) -> None:
    await ci.pipeline("gate", declarative(("Gate", "input message: 'Go?'")))
    run_id = await ci.started("gate")
    await ci.wait("gate", run_id, ("PAUSED",))
    node, step = await input_step(ci, "gate", run_id)

    await ci.jenkins.down()
    answer = await ci.post("gate", f"/runs/{run_id}/nodes/{node}/steps/{step}:process")
    await ci.jenkins.up()

    assert answer.status_code == 503
    assert "Jenkins is not reachable" in answer.json()["message"]


async def test_run_waiting_in_workbench_has_an_empty_log(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    await ci.jenkins.down()
    run_id = await ci.started("build")

    answer = await ci.get("build", f"/runs/{run_id}/log")
    await ci.jenkins.up()

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"log": "", "size": 0, "delivered": 0}


async def test_run_is_served_as_stored_when_jenkins_hangs(ci: CI) -> None:
    await ci.pipeline("slow", declarative(("Build", "sh 'sleep 600'")))
    run_id = await ci.started("slow")
    await ci.wait("slow", run_id, ("RUNNING",))

    ci.jenkins.slow(6)
    started = asyncio.get_running_loop().time()
    answer = await ci.get("slow", f"/runs/{run_id}")
    took = asyncio.get_running_loop().time() - started
    ci.jenkins.heal()

    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "RUNNING"
    assert took < 4
