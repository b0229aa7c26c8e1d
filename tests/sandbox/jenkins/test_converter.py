"""The pipeline-model-converter endpoints, answered through libs.jenkinsfile."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from sandbox.jenkins import JenkinsStandIn
from tests.sandbox.jenkins.helpers import declarative, stage

GOOD = declarative(stage("Build", "echo 'hi'"))


@pytest.fixture
async def http(standin: JenkinsStandIn) -> AsyncIterator[httpx.AsyncClient]:
    auth = (standin.admin_user, standin.admin_password)
    async with httpx.AsyncClient(base_url=standin.url, auth=auth) as client:
        yield client


async def test_to_json_wraps_the_model_in_an_ok_envelope(http: httpx.AsyncClient) -> None:
    answer = (await http.post("pipeline-model-converter/toJson", data={"jenkinsfile": GOOD})).json()

    assert answer["status"] == "ok"
    assert answer["data"]["result"] == "success"
    assert answer["data"]["json"]["pipeline"]["stages"][0]["name"] == "Build"


async def test_to_json_failure_is_still_http_200(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "pipeline-model-converter/toJson", data={"jenkinsfile": "pipeline {"}
    )

    assert response.status_code == 200
    assert response.json()["data"]["result"] == "failure"
    assert response.json()["data"]["errors"][0]["error"].startswith("WorkflowScript: ")


async def test_to_jenkinsfile_round_trips(http: httpx.AsyncClient) -> None:
    model = (await http.post("pipeline-model-converter/toJson", data={"jenkinsfile": GOOD})).json()
    answer = (
        await http.post(
            "pipeline-model-converter/toJenkinsfile",
            data={"json": json.dumps(model["data"]["json"])},
        )
    ).json()

    assert answer["data"]["result"] == "success"
    assert "echo 'hi'" in answer["data"]["jenkinsfile"]


async def test_validate_jenkinsfile_needs_no_crumb(http: httpx.AsyncClient) -> None:
    answer = await http.post(
        "pipeline-model-converter/validateJenkinsfile", data={"jenkinsfile": GOOD}
    )

    assert answer.json() == {"status": "ok", "data": {"result": "success"}}
