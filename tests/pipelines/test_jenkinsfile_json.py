"""Jenkinsfile <-> JSON model, in process: conversions, stored edits, errors with positions."""

from __future__ import annotations

import json

import pytest

from tests.pipelines.conftest import CI, SCRIPT, conforms


@pytest.fixture
def ci(shared_ci: CI) -> CI:
    return shared_ci


async def test_jenkinsfile_converts_to_the_json_model(ci: CI) -> None:
    answer = await ci.http.post(
        ci.path("/any:toJson"), json={"jenkinsfile": SCRIPT}, headers=ci.auth()
    )

    assert answer.status_code == 200, answer.text
    conforms(answer.json(), "v1alpha1JenkinsFileToJSONResponse")
    model = json.loads(answer.json()["data"])
    assert model["pipeline"]["stages"][0]["name"] == "Build"


async def test_broken_jenkinsfile_is_400_with_line_and_column(ci: CI) -> None:
    answer = await ci.http.post(
        ci.path("/any:toJson"), json={"jenkinsfile": "pipeline {\n  stages {"}, headers=ci.auth()
    )

    assert answer.status_code == 400
    assert answer.json()["message"].startswith("jenkinsfile: line ")


async def test_json_model_converts_to_a_jenkinsfile(ci: CI) -> None:
    converted = await ci.http.post(
        ci.path("/any:toJson"), json={"jenkinsfile": SCRIPT}, headers=ci.auth()
    )

    answer = await ci.http.post(
        ci.path("/any:toJenkinsfile"), json={"json": converted.json()["data"]}, headers=ci.auth()
    )

    assert answer.status_code == 200, answer.text
    conforms(answer.json(), "v1alpha1JSONToJenkinsFileResponse")
    assert "stage('Build')" in answer.json()["data"]


async def test_json_that_is_not_a_model_is_400_naming_json(ci: CI) -> None:
    answer = await ci.http.post(
        ci.path("/any:toJenkinsfile"), json={"json": "{not json"}, headers=ci.auth()
    )

    assert answer.status_code == 400
    assert answer.json()["message"].startswith("json:")


async def test_stored_jenkinsfile_is_read_as_json(ci: CI) -> None:
    await ci.create("json-read")
    await ci.put_jenkinsfile("json-read")

    answer = await ci.http.get(ci.path("/json-read/jenkinsjson"), headers=ci.auth())

    assert answer.status_code == 200, answer.text
    conforms(answer.json(), "v1alpha1GetJenkinsJSONResponse")
    assert json.loads(answer.json()["json"])["pipeline"]["agent"] == {"type": "any"}


async def test_json_edit_is_stored_as_a_jenkinsfile_and_pushed(ci: CI) -> None:
    await ci.create("json-edit")
    await ci.put_jenkinsfile("json-edit")
    read = await ci.http.get(ci.path("/json-edit/jenkinsjson"), headers=ci.auth())
    model = json.loads(read.json()["json"])
    model["pipeline"]["stages"][0]["name"] = "Compile"

    answer = await ci.http.put(
        ci.path("/json-edit/jenkinsjson"), json={"json": json.dumps(model)}, headers=ci.auth()
    )

    assert answer.status_code == 200, answer.text
    assert json.loads(answer.json()["json"])["pipeline"]["stages"][0]["name"] == "Compile"
    assert "stage('Compile')" in ci.job("json-edit").config.script


WITH_LIBRARY = """\
@Library('shared@main') _

pipeline {
    agent any
    stages {
        stage('Build') {
            steps {
                sh 'make'
            }
        }
    }
}
"""


async def test_json_edit_from_an_editor_that_drops_unknown_keys_keeps_the_library(ci: CI) -> None:
    await ci.create("json-library")
    await ci.put_jenkinsfile("json-library", WITH_LIBRARY)
    read = await ci.http.get(ci.path("/json-library/jenkinsjson"), headers=ci.auth())
    model = json.loads(read.json()["json"])
    assert model["pipeline"].pop("x-workbench") == {"prelude": "@Library('shared@main') _"}
    model["pipeline"]["stages"][0]["name"] = "Compile"

    answer = await ci.http.put(
        ci.path("/json-library/jenkinsjson"), json={"json": json.dumps(model)}, headers=ci.auth()
    )

    assert answer.status_code == 200, answer.text
    script = ci.job("json-library").config.script
    assert script == WITH_LIBRARY.replace("stage('Build')", "stage('Compile')")
