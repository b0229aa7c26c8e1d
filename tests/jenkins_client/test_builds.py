"""Builds: queue, parameters, logs, stop, Stage View, input, Blue Ocean, tests, artifacts."""

from __future__ import annotations

import asyncio

from libs.jenkins import JenkinsClient
from sandbox.jenkins import JenkinsStandIn
from tests.jenkins_client.helpers import declarative, pipeline_xml, string_parameter

JOB = ("7", "build-app")
FULL_NAME = "7/build-app"
REPORT = (
    '<testsuite name="unit" tests="2" failures="0">'
    '<testcase classname="app" name="one"/><testcase classname="app" name="two"/></testsuite>'
)


async def make_job(jenkins: JenkinsClient, script: str, *, parameters: str = "") -> None:
    await jenkins.ensure_folder("7")
    await jenkins.create_or_update_job(JOB, pipeline_xml(script, parameters=parameters))


async def started(jenkins: JenkinsClient, queue_id: int) -> int:
    """Poll the queue item until its build has started; the build number."""
    for _ in range(1000):
        item = await jenkins.queue_item(queue_id)
        if item.build_number is not None:
            return item.build_number
        await asyncio.sleep(0.01)
    raise AssertionError("the build never left the queue")


async def until_building_step(standin: JenkinsStandIn, number: int, text: str) -> None:
    for _ in range(1000):
        if text in bytes(standin.run(FULL_NAME, number).log).decode():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{text!r} never appeared in the log")


async def test_build_with_parameters_reaches_the_build_info(
    jenkins: JenkinsClient, standin: JenkinsStandIn
) -> None:
    await make_job(
        jenkins,
        declarative(("Build", 'echo "branch $BRANCH"')),
        parameters=string_parameter("BRANCH"),
    )

    queue_id = await jenkins.build(JOB, {"BRANCH": "release"})
    number = await started(jenkins, queue_id)
    await standin.wait_for_run(FULL_NAME, number)
    info = await jenkins.build_info(JOB, number)

    assert info["number"] == number and info["result"] == "SUCCESS"
    actions = [a for a in info["actions"] if a.get("_class") == "hudson.model.ParametersAction"]
    assert actions[0]["parameters"][0]["name"] == "BRANCH"
    assert actions[0]["parameters"][0]["value"] == "release"


async def test_queue_item_starts_waiting_then_names_the_build(jenkins: JenkinsClient) -> None:
    await make_job(jenkins, declarative(("Build", "echo 'hi'")))

    queue_id = await jenkins.build(JOB, delay_seconds=60)
    waiting = await jenkins.queue_item(queue_id)

    assert waiting.id == queue_id and waiting.waiting and waiting.build_number is None


async def test_cancel_queue_item_marks_it_cancelled(jenkins: JenkinsClient) -> None:
    await make_job(jenkins, declarative(("Build", "echo 'hi'")))
    queue_id = await jenkins.build(JOB, delay_seconds=600)

    cancelled = await jenkins.cancel_queue_item(queue_id)

    item = await jenkins.queue_item(queue_id)
    assert cancelled and item.cancelled and not item.waiting and item.build_number is None


async def test_progressive_log_read_to_the_end_matches_console_text(
    jenkins: JenkinsClient,
) -> None:
    await make_job(jenkins, declarative(("Build", "echo 'one'\n sleep 50\n echo 'two'")))
    number = await started(jenkins, await jenkins.build(JOB))

    pieces, start, more, reads = [], 0, True, 0
    while more:
        chunk = await jenkins.progressive_log(JOB, number, start)
        pieces.append(chunk.text)
        start, more, reads = chunk.next_start, chunk.more, reads + 1
        await asyncio.sleep(0.005)

    console = await jenkins.console_text(JOB, number)
    assert "".join(pieces) == console
    assert start == len(console.encode()) and "Finished: SUCCESS" in console
    assert reads > 1


async def test_stop_build_aborts_a_running_build(
    jenkins: JenkinsClient, standin: JenkinsStandIn
) -> None:
    await make_job(jenkins, declarative(("Build", "sh 'sleep 3000'")))
    number = await started(jenkins, await jenkins.build(JOB))
    await until_building_step(standin, number, "sleep 3000")

    await jenkins.stop_build(JOB, number)

    await standin.wait_for_run(FULL_NAME, number)
    assert (await jenkins.build_info(JOB, number))["result"] == "ABORTED"


async def test_stages_come_from_stage_view(jenkins: JenkinsClient, standin: JenkinsStandIn) -> None:
    await make_job(jenkins, declarative(("Build", "echo 'b'"), ("Test", "echo 't'")))
    number = await started(jenkins, await jenkins.build(JOB))
    await standin.wait_for_run(FULL_NAME, number)

    stages = await jenkins.stages(JOB, number)

    assert [(s["name"], s["status"]) for s in stages] == [
        ("Build", "SUCCESS"),
        ("Test", "SUCCESS"),
    ]


async def test_submit_input_proceeds_a_paused_build(
    jenkins: JenkinsClient, standin: JenkinsStandIn
) -> None:
    await make_job(jenkins, declarative(("Deploy", "input message: 'Ship it?'")))
    number = await started(jenkins, await jenkins.build(JOB))
    await until_building_step(standin, number, "Ship it?")

    pending = await jenkins.pending_inputs(JOB, number)
    await jenkins.submit_input(JOB, number, pending[0]["id"], proceed=True)

    await standin.wait_for_run(FULL_NAME, number)
    assert (await jenkins.build_info(JOB, number))["result"] == "SUCCESS"


async def test_submit_input_abort_aborts_the_build(
    jenkins: JenkinsClient, standin: JenkinsStandIn
) -> None:
    await make_job(jenkins, declarative(("Deploy", "input message: 'Ship it?'")))
    number = await started(jenkins, await jenkins.build(JOB))
    await until_building_step(standin, number, "Ship it?")

    pending = await jenkins.pending_inputs(JOB, number)
    await jenkins.submit_input(JOB, number, pending[0]["id"], proceed=False)

    await standin.wait_for_run(FULL_NAME, number)
    assert (await jenkins.build_info(JOB, number))["result"] == "ABORTED"


async def test_blue_ocean_nodes_steps_and_step_log(
    jenkins: JenkinsClient, standin: JenkinsStandIn
) -> None:
    await make_job(jenkins, declarative(("Build", "echo 'from the step'")))
    number = await started(jenkins, await jenkins.build(JOB))
    await standin.wait_for_run(FULL_NAME, number)

    nodes = await jenkins.nodes(JOB, number)
    steps = await jenkins.steps(JOB, number, nodes[0]["id"])
    log = await jenkins.step_log(JOB, number, steps[0]["id"])

    assert [n["displayName"] for n in nodes] == ["Build"]
    assert "from the step" in log.text and log.more is False


async def test_test_report_and_artifacts_of_a_build(
    jenkins: JenkinsClient, standin: JenkinsStandIn
) -> None:
    steps = (
        f"writeFile file: 'report.xml', text: '{REPORT}'\n"
        "        junit 'report.xml'\n"
        "        writeFile file: 'out/app.txt', text: 'binary'\n"
        "        archiveArtifacts 'out/*.txt'"
    )
    await make_job(jenkins, declarative(("Build", steps)))
    number = await started(jenkins, await jenkins.build(JOB))
    await standin.wait_for_run(FULL_NAME, number)

    report = await jenkins.test_report(JOB, number)
    artifacts = await jenkins.artifacts(JOB, number)
    content = await jenkins.artifact(JOB, number, artifacts[0]["relativePath"])

    assert report is not None and report["passCount"] == 2
    assert [a["relativePath"] for a in artifacts] == ["out/app.txt"]
    assert content == b"binary"


async def test_test_report_is_none_without_tests(
    jenkins: JenkinsClient, standin: JenkinsStandIn
) -> None:
    await make_job(jenkins, declarative(("Build", "echo 'no tests'")))
    number = await started(jenkins, await jenkins.build(JOB))
    await standin.wait_for_run(FULL_NAME, number)

    assert await jenkins.test_report(JOB, number) is None
