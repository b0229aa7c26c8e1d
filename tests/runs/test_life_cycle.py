"""A run's life over REST: asked for, queued, run in Jenkins, finished; the pipeline's summary."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.runs.conftest import CI, declarative

JUNIT = """<testsuite name="unit" time="1.5">
  <testcase classname="app.Test" name="passes" time="0.5"/>
  <testcase classname="app.Test" name="fails" time="1.0"><failure message="boom"/></testcase>
  <testcase classname="app.Test" name="skipped" time="0"><skipped/></testcase>
</testsuite>"""
TESTS = f"writeFile file: 'reports/unit.xml', text: '''{JUNIT}'''\njunit 'reports/*.xml'"


async def summary(ci: CI, name: str) -> dict[str, Any]:
    return await ci.fetch_row(
        "SELECT last_run_seq, last_run_state, last_run_at, total_runs, total_successes,"
        " weather FROM pipelines WHERE workspace_id = $1 AND name = $2",
        ci.workspace_id,
        name,
    )


async def input_step(ci: CI, name: str, run_id: str) -> tuple[str, str]:
    """(node id, step id) of the input step the run waits on."""
    nodes = (await ci.get(name, f"/runs/{run_id}/nodes")).json()["nodes"]
    for node in nodes:
        steps = (await ci.get(name, f"/runs/{run_id}/nodes/{node['id']}/steps")).json()["steps"]
        for step in steps:
            if step.get("input"):
                return node["id"], step["id"]
    raise AssertionError(f"no input step in {nodes}")


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
    assert int(run["createdAt"]) > 0


async def test_successful_run_ends_in_success(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "sh 'sleep 2'")))
    run_id = await ci.started("build")

    run = await ci.wait("build", run_id)

    assert run["state"] == "SUCCESS"
    assert int(run["startAt"]) > 0
    assert int(run["duration"]) > 0


async def test_failing_step_ends_the_run_failed(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "sh 'exit 1'")))
    run_id = await ci.started("build")

    assert (await ci.wait("build", run_id))["state"] == "FAILED"


async def test_failing_tests_end_the_run_unstable(ci: CI) -> None:
    await ci.pipeline("tests", declarative(("Test", TESTS)))
    run_id = await ci.started("tests")

    assert (await ci.wait("tests", run_id))["state"] == "UNSTABLE"


async def test_cancel_aborts_a_running_run(ci: CI) -> None:
    await ci.pipeline("slow", declarative(("Build", "sh 'sleep 600'")))
    run_id = await ci.started("slow")
    await ci.wait("slow", run_id, ("RUNNING",))

    cancelled = await ci.post("slow", f"/runs/{run_id}:cancel")

    assert cancelled.status_code == 200, cancelled.text
    assert (await ci.wait("slow", run_id))["state"] == "CANCELED"


async def test_cancel_of_a_finished_run_is_refused(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    run_id = await ci.started("build")
    await ci.wait("build", run_id)

    answer = await ci.post("build", f"/runs/{run_id}:cancel")

    assert answer.status_code == 400
    assert "already finished" in answer.json()["message"]


async def test_run_waiting_for_input_is_paused_and_proceeds(ci: CI) -> None:
    await ci.pipeline("gate", declarative(("Gate", "input message: 'Ship it?'")))
    run_id = await ci.started("gate")
    await ci.wait("gate", run_id, ("PAUSED",))
    node, step = await input_step(ci, "gate", run_id)

    answer = await ci.post("gate", f"/runs/{run_id}/nodes/{node}/steps/{step}:process")

    assert answer.status_code == 200, answer.text
    assert (await ci.wait("gate", run_id))["state"] == "SUCCESS"


async def test_aborted_input_cancels_the_run(ci: CI) -> None:
    await ci.pipeline("gate", declarative(("Gate", "input message: 'Ship it?'")))
    run_id = await ci.started("gate")
    await ci.wait("gate", run_id, ("PAUSED",))
    node, step = await input_step(ci, "gate", run_id)

    answer = await ci.post("gate", f"/runs/{run_id}/nodes/{node}/steps/{step}:abort")

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"response": "aborted"}
    assert (await ci.wait("gate", run_id))["state"] == "CANCELED"


async def test_runs_are_numbered_in_order_and_listed_newest_first(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    for _ in range(3):
        await ci.started("build")

    listed = await ci.get("build", "/runs", page=1, pageSize=2)

    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [r["runId"] for r in body["items"]] == ["3", "2"]
    assert body["pagination"] == {"page": 1, "pageSize": 2, "total": 3, "pages": 2}


async def test_runs_are_filtered_by_state(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    first = await ci.started("build")
    await ci.wait("build", first)

    listed = await ci.get("build", "/runs", state="SUCCESS")
    none = await ci.get("build", "/runs", state="FAILED", triggerType="MANUAL")

    assert [r["runId"] for r in listed.json()["items"]] == [first]
    assert none.json()["items"] == []


async def test_runs_are_filtered_by_who_started_them(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    await ci.started("build")

    mine = await ci.get("build", "/runs", startedBy="admin")
    theirs = await ci.get("build", "/runs", startedBy="bob")

    assert len(mine.json()["items"]) == 1
    assert theirs.json()["items"] == []


async def test_replay_starts_a_new_run_with_the_same_parameters(ci: CI) -> None:
    definition = {"name": "TARGET", "type": "PARAMETER_TYPE_STRING", "defaultValue": "dev"}
    await ci.pipeline("deploy", declarative(("Deploy", 'echo "to $TARGET"')), [definition])
    first = await ci.started("deploy", {"TARGET": "prod"})

    replayed = await ci.post("deploy", f"/runs/{first}:replay")

    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["runId"] == "2"
    assert replayed.json()["parameters"][0]["value"] == "prod"


async def test_pipeline_summary_follows_its_runs(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    first = await ci.started("build")
    await ci.wait("build", first)

    after = await summary(ci, "build")

    assert after["last_run_seq"] == 1
    assert after["last_run_state"] == "SUCCESS"
    assert after["last_run_at"] is not None
    assert after["total_runs"] == 1
    assert after["total_successes"] == 1
    assert after["weather"] == "SUNNY"


async def test_weather_reflects_failures_among_recent_runs(ci: CI) -> None:
    await ci.pipeline("flaky", declarative(("Build", "sh 'exit 1'")))
    run_id = await ci.started("flaky")
    await ci.wait("flaky", run_id)

    after = await summary(ci, "flaky")

    assert after["last_run_state"] == "FAILED"
    assert after["total_successes"] == 0
    assert after["weather"] == "STORM"


async def test_unknown_run_is_not_found(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))

    answer = await ci.get("build", "/runs/9")

    assert answer.status_code == 404
    assert "run 9" in answer.json()["message"]


async def test_disabled_pipeline_cannot_be_run(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    assert ci.stack.settings.database_url
    connection = await asyncpg.connect(ci.stack.settings.database_url)
    await connection.execute(
        "UPDATE pipelines SET disabled = true WHERE workspace_id = $1", ci.workspace_id
    )
    await connection.close()

    answer = await ci.run("build")

    assert answer.status_code == 400
    assert "disabled" in answer.json()["message"]


async def test_runs_are_listed_oldest_first_when_asked(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    for _ in range(3):
        await ci.started("build")

    listed = await ci.get("build", "/runs", sortBy="PIPELINE_RUN_ID", sortDir="ASC")

    assert [r["runId"] for r in listed.json()["items"]] == ["1", "2", "3"]


async def test_run_is_found_by_its_number(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    for _ in range(3):
        await ci.started("build")

    listed = await ci.get("build", "/runs", searchRunId="2")

    assert [r["runId"] for r in listed.json()["items"]] == ["2"]
    assert listed.json()["pagination"]["total"] == 1
