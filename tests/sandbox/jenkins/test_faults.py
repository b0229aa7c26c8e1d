"""Fault knobs: down, slow, failing statuses, restart with state kept, persistence."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from sandbox.jenkins import JenkinsStandIn
from tests.sandbox.jenkins.helpers import build, declarative, pipeline_xml, stage

SCRIPT = declarative(stage("Build", "echo 'hi'"))


@pytest.fixture
async def http(standin: JenkinsStandIn) -> AsyncIterator[httpx.AsyncClient]:
    auth = (standin.admin_user, standin.api_token)
    async with httpx.AsyncClient(base_url=standin.url, auth=auth) as client:
        yield client


async def test_down_refuses_connections(standin: JenkinsStandIn, http: httpx.AsyncClient) -> None:
    await standin.down()

    with pytest.raises(httpx.ConnectError):
        await http.get("api/json")


async def test_up_serves_again_on_the_same_port(
    standin: JenkinsStandIn, http: httpx.AsyncClient
) -> None:
    port = standin.port
    await standin.down()

    await standin.up()

    assert standin.port == port
    assert (await http.get("api/json")).status_code == 200


async def test_fail_with_answers_the_given_status(
    standin: JenkinsStandIn, http: httpx.AsyncClient
) -> None:
    standin.fail_with(502)

    assert (await http.get("api/json")).status_code == 502


async def test_fail_with_times_recovers_after_that_many(
    standin: JenkinsStandIn, http: httpx.AsyncClient
) -> None:
    standin.fail_with(500, times=2)

    codes = [(await http.get("api/json")).status_code for _ in range(3)]

    assert codes == [500, 500, 200]


async def test_slow_delays_every_response(standin: JenkinsStandIn, http: httpx.AsyncClient) -> None:
    standin.slow(0.2)
    loop = asyncio.get_running_loop()
    begun = loop.time()

    await http.get("api/json")

    assert loop.time() - begun >= 0.2


async def test_restart_keeps_jobs_and_builds(
    standin: JenkinsStandIn, http: httpx.AsyncClient
) -> None:
    standin.create_job("ws/pipe", pipeline_xml(SCRIPT))
    await build(standin, "ws/pipe")

    await standin.restart()

    job = (await http.get("job/ws/job/pipe/api/json")).json()
    assert job["lastBuild"]["number"] == 1


async def test_state_directory_survives_a_new_process(tmp_path: Path) -> None:
    first = JenkinsStandIn(time_scale=200, state_dir=tmp_path)
    await first.start()
    first.create_job("ws/pipe", pipeline_xml(SCRIPT))
    await build(first, "ws/pipe")
    token = first.api_token
    await first.stop()

    second = JenkinsStandIn(state_dir=tmp_path)
    await second.start()
    try:
        run = second.run("ws/pipe", 1)
        assert (run.result, second.api_token) == ("SUCCESS", token)
        assert b"Finished: SUCCESS" in bytes(run.log)
    finally:
        await second.stop()
