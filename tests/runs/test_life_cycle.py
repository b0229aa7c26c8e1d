"""A run's life over REST: asked for, queued, run in Jenkins, finished; the pipeline's summary."""

from __future__ import annotations

from tests.runs.conftest import CI, declarative


async def test_run_answers_the_run_in_queue_with_its_number(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hello'")))

    answer = await ci.run("build")

    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert run["runId"] == "1"
    assert run["state"] == "QUEUE"
    assert run["name"] == "build"
    assert run["workspaceId"] == str(ci.workspace_id)
    assert run["triggerType"] == "MANUAL"
    assert run["startedBy"] == "admin"


async def test_successful_run_ends_in_success(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "sh 'sleep 2'")))
    run_id = await ci.started("build")

    run = await ci.wait("build", run_id)

    assert run["state"] == "SUCCESS"
    assert int(run["startAt"]) > 0
    assert int(run["duration"]) > 0
