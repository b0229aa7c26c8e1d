"""Stage View (`wfapi`) and Blue Ocean REST over HTTP, for a finished and a paused run."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from sandbox.jenkins import JenkinsStandIn
from tests.sandbox.jenkins.helpers import (
    build,
    declarative,
    pipeline_xml,
    schedule,
    stage,
    started,
    until,
)

PARALLEL = declarative(
    stage("Build", "sh 'echo compiled'")
    + "\n    stage('Checks') {\n      parallel {\n"
    + stage("lint", "echo 'lint ok'")
    + "\n"
    + stage("unit", "echo 'unit ok'")
    + "\n      }\n    }\n"
    + stage("Ship", "echo 'shipped'")
)
BLUE = "blue/rest/organizations/jenkins/pipelines/ws/pipelines/pipe"


@pytest.fixture
async def http(standin: JenkinsStandIn) -> AsyncIterator[httpx.AsyncClient]:
    auth = (standin.admin_user, standin.api_token)
    async with httpx.AsyncClient(base_url=standin.url, auth=auth) as client:
        yield client


@pytest.fixture
async def finished_run(standin: JenkinsStandIn) -> None:
    standin.create_job("ws/pipe", pipeline_xml(PARALLEL))
    await build(standin, "ws/pipe")


@pytest.mark.usefixtures("finished_run")
async def test_run_describe_lists_stages_with_status(http: httpx.AsyncClient) -> None:
    described = (await http.get("job/ws/job/pipe/1/wfapi/describe")).json()

    assert described["status"] == "SUCCESS"
    assert [s["name"] for s in described["stages"]] == ["Build", "Checks", "lint", "unit", "Ship"]
    assert described["_links"]["self"]["href"] == "/job/ws/job/pipe/1/wfapi/describe"


async def test_run_describe_names_matrix_cells_as_jenkins_does(
    standin: JenkinsStandIn, http: httpx.AsyncClient
) -> None:
    matrix = (
        "    stage('Cells') {\n      matrix {\n"
        "        axes { axis { name 'PLATFORM'; values 'linux', 'windows' } }\n"
        f"        stages {{\n{stage('Build', 'echo PLATFORM')}\n        }}\n      }}\n    }}"
    )
    standin.create_job("ws/pipe", pipeline_xml(declarative(matrix)))
    await build(standin, "ws/pipe")

    described = (await http.get("job/ws/job/pipe/1/wfapi/describe")).json()

    assert [(s["name"], s["status"]) for s in described["stages"]] == [
        ("Cells", "SUCCESS"),
        ("Matrix - PLATFORM = 'linux'", "SUCCESS"),
        ("Build", "SUCCESS"),
        ("Matrix - PLATFORM = 'windows'", "SUCCESS"),
        ("Build", "SUCCESS"),
    ]


@pytest.mark.usefixtures("finished_run")
async def test_stage_describe_has_its_steps_and_their_logs(http: httpx.AsyncClient) -> None:
    stages = (await http.get("job/ws/job/pipe/1/wfapi/describe")).json()["stages"]
    node = (await http.get(stages[0]["_links"]["self"]["href"])).json()
    step = node["stageFlowNodes"][0]
    log = (await http.get(step["_links"]["log"]["href"])).json()

    assert (step["name"], step["parameterDescription"]) == ("Shell Script", "echo compiled")
    assert log["text"] == "+ echo compiled\ncompiled\n"


@pytest.mark.usefixtures("finished_run")
async def test_job_runs_are_listed_newest_first(http: httpx.AsyncClient) -> None:
    runs = (await http.get("job/ws/job/pipe/wfapi/runs")).json()
    job = (await http.get("job/ws/job/pipe/wfapi/describe")).json()

    assert [r["id"] for r in runs] == ["1"]
    assert job["runCount"] == 1


@pytest.mark.usefixtures("finished_run")
async def test_blue_ocean_run_is_finished(http: httpx.AsyncClient) -> None:
    run = (await http.get(f"{BLUE}/runs/1/")).json()

    assert (run["state"], run["result"], run["type"]) == ("FINISHED", "SUCCESS", "WorkflowRun")
    assert run["startTime"][-5] in "+-"


@pytest.mark.usefixtures("finished_run")
async def test_blue_ocean_nodes_draw_the_parallel_graph(http: httpx.AsyncClient) -> None:
    nodes = (await http.get(f"{BLUE}/runs/1/nodes/")).json()
    by_name = {n["displayName"]: n for n in nodes}

    assert [(n["displayName"], n["type"]) for n in nodes] == [
        ("Build", "STAGE"),
        ("Checks", "STAGE"),
        ("lint", "PARALLEL"),
        ("unit", "PARALLEL"),
        ("Ship", "STAGE"),
    ]
    assert [e["id"] for e in by_name["Checks"]["edges"]] == [
        by_name["lint"]["id"],
        by_name["unit"]["id"],
    ]
    assert [e["id"] for e in by_name["lint"]["edges"]] == [by_name["Ship"]["id"]]
    assert by_name["Ship"]["firstParent"] == by_name["Checks"]["id"]


@pytest.mark.usefixtures("finished_run")
async def test_blue_ocean_step_log_is_the_step_output(http: httpx.AsyncClient) -> None:
    nodes = (await http.get(f"{BLUE}/runs/1/nodes/")).json()
    steps = (await http.get(f"{BLUE}/runs/1/nodes/{nodes[0]['id']}/steps/")).json()
    log = await http.get(f"{BLUE}/runs/1/nodes/{nodes[0]['id']}/steps/{steps[0]['id']}/log/")

    assert steps[0]["displayName"] == "Shell Script"
    assert log.text == "+ echo compiled\ncompiled\n"
    assert "X-More-Data" not in log.headers


async def test_paused_run_offers_its_input(
    standin: JenkinsStandIn, http: httpx.AsyncClient
) -> None:
    script = declarative(stage("Gate", "input message: 'Deploy?', id: 'deploy'"))
    standin.create_job("ws/pipe", pipeline_xml(script))
    run = await started(schedule(standin, "ws/pipe"))
    await until(lambda: run.paused)

    described = (await http.get("job/ws/job/pipe/1/wfapi/describe")).json()
    pending = (await http.get("job/ws/job/pipe/1/wfapi/pendingInputActions")).json()

    assert described["status"] == "PAUSED_PENDING_INPUT"
    assert pending[0]["id"] == "Deploy"
    assert pending[0]["proceedUrl"] == "/job/ws/job/pipe/1/wfapi/inputSubmit?inputId=Deploy"
    assert pending[0]["abortUrl"] == "/job/ws/job/pipe/1/input/Deploy/abort"


async def test_blue_ocean_step_input_is_proceeded(
    standin: JenkinsStandIn, http: httpx.AsyncClient
) -> None:
    script = declarative(stage("Gate", "input message: 'Deploy?', id: 'deploy'"))
    standin.create_job("ws/pipe", pipeline_xml(script))
    run = await started(schedule(standin, "ws/pipe"))
    await until(lambda: run.paused)
    nodes = (await http.get(f"{BLUE}/runs/1/nodes/")).json()
    steps = (await http.get(f"{BLUE}/runs/1/nodes/{nodes[0]['id']}/steps/")).json()

    assert (steps[0]["state"], steps[0]["input"]["id"]) == ("PAUSED", "Deploy")
    await http.post(
        f"{BLUE}/runs/1/nodes/{nodes[0]['id']}/steps/{steps[0]['id']}/",
        json={"id": "Deploy", "parameters": []},
    )
    await until(lambda: not run.building)
    assert run.result == "SUCCESS"


async def test_future_stages_have_no_state_in_blue_ocean(
    standin: JenkinsStandIn, http: httpx.AsyncClient
) -> None:
    script = declarative(stage("Wait", "sleep 3600") + "\n" + stage("Later", "echo 'x'"))
    standin.create_job("ws/pipe", pipeline_xml(script))
    run = await started(schedule(standin, "ws/pipe"))
    await until(lambda: run.stages() and run.stages()[0].state == "running")

    nodes = (await http.get(f"{BLUE}/runs/1/nodes/")).json()

    assert [(n["state"], n["result"]) for n in nodes] == [("RUNNING", "UNKNOWN"), (None, None)]
    standin.jenkins.stop(run, "kill")


async def test_progressive_text_pages_through_a_running_log(
    standin: JenkinsStandIn, http: httpx.AsyncClient
) -> None:
    standin.create_job("ws/pipe", pipeline_xml(declarative(stage("Wait", "sleep 3600"))))
    run = await started(schedule(standin, "ws/pipe"))
    await until(lambda: "Sleeping" in bytes(run.log).decode())

    first = await http.get("job/ws/job/pipe/1/logText/progressiveText", params={"start": 0})
    size = first.headers["X-Text-Size"]
    standin.jenkins.stop(run)
    await until(lambda: not run.building)
    rest = await http.get("job/ws/job/pipe/1/logText/progressiveText", params={"start": size})

    assert first.headers["X-More-Data"] == "true"
    assert "X-More-Data" not in rest.headers
    assert (first.text + rest.text) == bytes(run.log).decode()
    assert rest.text.endswith("Finished: ABORTED\n")


async def test_artifact_and_test_report_are_served(
    standin: JenkinsStandIn, http: httpx.AsyncClient
) -> None:
    junit = '<testsuite name="s"><testcase classname="c" name="t"/></testsuite>'
    steps = (
        f"writeFile file: 'r.xml', text: '{junit}'\njunit 'r.xml'\n"
        "archiveArtifacts artifacts: 'r.xml'"
    )
    standin.create_job("ws/pipe", pipeline_xml(declarative(stage("T", steps))))
    await build(standin, "ws/pipe")

    artifact = await http.get("job/ws/job/pipe/1/artifact/r.xml")
    report = (await http.get("job/ws/job/pipe/1/testReport/api/json")).json()
    listed = (await http.get("job/ws/job/pipe/1/wfapi/artifacts")).json()

    assert artifact.text == junit
    assert (report["passCount"], report["failCount"]) == (1, 0)
    assert listed[0]["url"] == "/job/ws/job/pipe/1/artifact/r.xml"


async def test_blue_ocean_lists_runs_newest_first(
    standin: JenkinsStandIn, http: httpx.AsyncClient
) -> None:
    standin.create_job("ws/pipe", pipeline_xml(declarative(stage("B", "echo 'b'"))))
    await build(standin, "ws/pipe")
    await build(standin, "ws/pipe")

    runs = (await http.get(f"{BLUE}/runs/")).json()

    assert [(r["id"], r["state"], r["result"]) for r in runs] == [
        ("2", "FINISHED", "SUCCESS"),
        ("1", "FINISHED", "SUCCESS"),
    ]
    assert (await http.get(f"{BLUE}/runs/3/")).status_code == 404


async def test_blue_ocean_stop_aborts_the_run(
    standin: JenkinsStandIn, http: httpx.AsyncClient
) -> None:
    standin.create_job("ws/pipe", pipeline_xml(declarative(stage("Wait", "sleep 3600"))))
    run = await started(schedule(standin, "ws/pipe"))
    await until(lambda: "Sleeping for" in bytes(run.log).decode())

    stopped = await http.put(f"{BLUE}/runs/1/stop/", params={"blocking": "true"})
    await until(lambda: not run.building)

    assert stopped.status_code == 200
    assert (await http.get(f"{BLUE}/runs/1/")).json()["result"] == "ABORTED"


async def test_input_aborted_over_http_ends_the_run_aborted(
    standin: JenkinsStandIn, http: httpx.AsyncClient
) -> None:
    script = declarative(stage("Gate", "input message: 'Deploy?', id: 'deploy'"))
    standin.create_job("ws/pipe", pipeline_xml(script))
    run = await started(schedule(standin, "ws/pipe"))
    await until(lambda: run.paused)
    pending = (await http.get("job/ws/job/pipe/1/wfapi/pendingInputActions")).json()

    aborted = await http.post(pending[0]["abortUrl"])
    await until(lambda: not run.building)

    assert aborted.status_code == 302
    described = (await http.get("job/ws/job/pipe/1/wfapi/describe")).json()
    assert (described["status"], described["stages"][0]["status"]) == ("ABORTED", "ABORTED")
    assert f"Rejected by {standin.admin_user}" in bytes(run.log).decode()
    assert (await http.post(pending[0]["abortUrl"])).status_code == 404


async def test_input_aborted_from_the_stage_view_form(
    standin: JenkinsStandIn, http: httpx.AsyncClient
) -> None:
    script = declarative(stage("Gate", "input message: 'Deploy?', id: 'deploy'"))
    standin.create_job("ws/pipe", pipeline_xml(script))
    run = await started(schedule(standin, "ws/pipe"))
    await until(lambda: run.paused)

    submitted = await http.post(
        "job/ws/job/pipe/1/wfapi/inputSubmit",
        params={"inputId": "Deploy"},
        data={"json": '{"parameter": []}', "abort": "Abort"},
    )
    await until(lambda: not run.building)

    assert submitted.status_code == 200
    assert run.result == "ABORTED"


@pytest.mark.usefixtures("finished_run")
async def test_node_log_is_the_step_output(http: httpx.AsyncClient) -> None:
    stages = (await http.get("job/ws/job/pipe/1/wfapi/describe")).json()["stages"]
    node = (await http.get(stages[0]["_links"]["self"]["href"])).json()
    step = node["stageFlowNodes"][0]

    described = (await http.get(step["_links"]["log"]["href"])).json()
    console = await http.get(step["_links"]["console"]["href"])

    assert (described["nodeId"], described["nodeStatus"]) == (step["id"], "SUCCESS")
    assert described["text"] == "+ echo compiled\ncompiled\n"
    assert described["length"] == len(described["text"]) and described["hasMore"] is False
    assert console.text == "+ echo compiled\ncompiled\n"
    assert (await http.get("job/ws/job/pipe/1/execution/node/999/log")).status_code == 404
