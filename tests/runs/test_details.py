"""What only Jenkins knows about a run: logs by offset, stages, steps, artifacts, JUnit; kept
once the run has finished, so a finished run is served with Jenkins gone (the stand-in
refusing every connection)."""

from __future__ import annotations

from typing import Any

from tests.runs.conftest import CI, declarative
from tests.runs.test_life_cycle import TESTS

SLOW_LOG = declarative(
    ("Build", "echo 'first line'\nsh 'sleep 30'\necho 'last line'"),
)
ARTIFACTS = declarative(
    ("Package", "sh 'echo built > dist/app.txt'\narchiveArtifacts artifacts: 'dist/*.txt'")
)


async def tail(ci: CI, name: str, run_id: str) -> tuple[str, list[dict[str, Any]]]:
    """The whole log, read as a console tails it, and every answer on the way."""
    text, start, answers = "", 0, []
    for _ in range(400):
        answer = (await ci.get(name, f"/runs/{run_id}/log", start=str(start))).json()
        answers.append(answer)
        text += answer["log"]
        start = answer["size"]
        run = (await ci.get(name, f"/runs/{run_id}")).json()
        if run["state"] not in ("QUEUE", "RUNNING", "PAUSED"):
            last = (await ci.get(name, f"/runs/{run_id}/log", start=str(start))).json()
            return text + last["log"], [*answers, last]
    raise AssertionError("the run did not finish")


async def test_log_is_tailed_by_offset_to_the_end(ci: CI) -> None:
    await ci.pipeline("build", SLOW_LOG)
    run_id = await ci.started("build")
    await ci.wait("build", run_id, ("RUNNING",))

    text, answers = await tail(ci, "build", run_id)
    whole = (await ci.get("build", f"/runs/{run_id}/log")).json()
    end = (await ci.get("build", f"/runs/{run_id}/log", start=str(whole["size"]))).json()

    assert text == whole["log"]
    assert text.count("first line") == 1 and text.count("last line") == 1
    assert "Finished: SUCCESS" in text
    assert whole["size"] == whole["delivered"] == len(whole["log"].encode())
    assert len(answers) > 2
    assert end == {"log": "", "size": whole["size"], "delivered": 0}


async def test_log_from_an_offset_delivers_the_rest(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hello'")))
    run_id = await ci.started("build")
    await ci.wait("build", run_id)

    whole = (await ci.get("build", f"/runs/{run_id}/log")).json()
    rest = (await ci.get("build", f"/runs/{run_id}/log", start="10")).json()

    assert rest["size"] == whole["size"]
    assert rest["delivered"] == whole["size"] - 10
    assert whole["log"].encode()[10:].decode() == rest["log"]


async def test_bad_log_offset_is_refused(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hello'")))
    run_id = await ci.started("build")

    answer = await ci.get("build", f"/runs/{run_id}/log", start="-5")

    assert answer.status_code == 400
    assert "start" in answer.json()["message"]


async def test_nodes_steps_and_step_logs(ci: CI) -> None:
    script = declarative(("Build", "echo 'compiling'"), ("Test", "sh 'exit 1'"))
    await ci.pipeline("build", script)
    run_id = await ci.started("build")
    await ci.wait("build", run_id)

    nodes = (await ci.get("build", f"/runs/{run_id}/nodes")).json()["nodes"]
    build = next(n for n in nodes if n["displayName"] == "Build")
    test = next(n for n in nodes if n["displayName"] == "Test")
    steps = (await ci.get("build", f"/runs/{run_id}/nodes/{build['id']}/steps")).json()["steps"]
    step_log = await ci.get(
        "build", f"/runs/{run_id}/nodes/{build['id']}/steps/{steps[0]['id']}/log"
    )

    assert build["result"] == "BLUE_OCEAN_RESULT_SUCCESS"
    assert build["type"] == "BLUE_OCEAN_NODE_STAGE"
    assert test["result"] == "BLUE_OCEAN_RESULT_FAILURE"
    assert steps[0]["displayName"] and steps[0]["type"] == "BLUE_OCEAN_STEP"
    assert "compiling" in step_log.json()["log"]
    assert step_log.json()["size"] == len(step_log.json()["log"].encode())


async def test_artifacts_are_listed(ci: CI) -> None:
    await ci.pipeline("package", ARTIFACTS)
    run_id = await ci.started("package")
    await ci.wait("package", run_id)

    answer = await ci.get("package", f"/runs/{run_id}/artifacts")

    assert answer.status_code == 200, answer.text
    [artifact] = answer.json()["artifacts"]
    assert artifact["name"] == "app.txt"
    assert artifact["path"] == "dist/app.txt"


async def test_junit_report_and_summary(ci: CI) -> None:
    await ci.pipeline("tests", declarative(("Test", TESTS)))
    run_id = await ci.started("tests")
    await ci.wait("tests", run_id)

    report = (await ci.get("tests", f"/runs/{run_id}/junit_report")).json()
    failed = await ci.get("tests", f"/runs/{run_id}/junit_report", result="JUNIT_RESULT_FAILED")
    summary = (await ci.get("tests", f"/runs/{run_id}/junit_summary")).json()

    assert [i["name"] for i in report["items"]] == [
        "app.Test.passes",
        "app.Test.fails",
        "app.Test.skipped",
    ]
    assert report["pagination"]["total"] == 3
    assert [i["name"] for i in failed.json()["items"]] == ["app.Test.fails"]
    assert summary["data"] == {
        "total": 3,
        "failed": 1,
        "skipped": 1,
        "passed": 1,
        "fixed": 0,
        "regression": 0,
        "existingFailed": 1,
    }


async def test_finished_run_details_are_served_with_jenkins_stopped(ci: CI) -> None:
    await ci.pipeline("tests", declarative(("Test", TESTS)))
    run_id = await ci.started("tests")
    await ci.wait("tests", run_id)
    paths = [f"/runs/{run_id}{p}" for p in ("/log", "/nodes", "/artifacts", "/junit_report")]
    paths.append(f"/runs/{run_id}/junit_summary")
    before = [(await ci.get("tests", p)).json() for p in paths]
    node = before[1]["nodes"][0]["id"]
    steps = (await ci.get("tests", f"/runs/{run_id}/nodes/{node}/steps")).json()
    step_logs = [f"/runs/{run_id}/nodes/{node}/steps/{s['id']}/log" for s in steps["steps"]]
    logs = [(await ci.get("tests", p)).json() for p in step_logs]

    await ci.jenkins.down()
    after = [(await ci.get("tests", p)).json() for p in paths]
    steps_after = (await ci.get("tests", f"/runs/{run_id}/nodes/{node}/steps")).json()
    logs_after = [await ci.get("tests", p) for p in step_logs]
    run = await ci.get("tests", f"/runs/{run_id}")

    assert after == before
    assert steps_after == steps
    assert [answer.status_code for answer in logs_after] == [200] * len(logs)
    assert [answer.json() for answer in logs_after] == logs
    assert any(log["log"] for log in logs)  # the steps did write something
    assert run.json()["state"] == "UNSTABLE"


async def test_unfinished_run_details_say_jenkins_is_unreachable(ci: CI) -> None:
    await ci.pipeline("slow", declarative(("Build", "sh 'sleep 600'")))
    run_id = await ci.started("slow")
    await ci.wait("slow", run_id, ("RUNNING",))

    await ci.jenkins.down()
    answer = await ci.get("slow", f"/runs/{run_id}/nodes")
    await ci.jenkins.up()

    assert answer.status_code == 503
    assert "Jenkins is not reachable" in answer.json()["message"]
