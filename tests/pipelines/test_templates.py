"""A pipeline created from a catalog template: the rendered Jenkinsfile is its script."""

from __future__ import annotations

import json

import pytest

from tests.pipelines.conftest import CI

SPEC = """\
parameterDefinitions:
  - name: target
    default: dev
jenkinsfileTemplate: |
  pipeline {
    agent any
    stages {
      stage('deploy') { steps { echo 'to {{ .params.target }}' } }
    }
  }
"""


async def _template(ci: CI) -> None:
    made = await ci.http.post(
        f"/apis/pipeline.amamba.io/v1alpha1/workspaces/{ci.workspace_id}/templates",
        json={"name": "deploy", "spec": SPEC},
        headers=ci.auth("admin"),
    )
    assert made.status_code == 200, made.text


@pytest.fixture
def ci(shared_ci: CI) -> CI:
    return shared_ci


async def test_template_pipeline_runs_the_rendered_jenkinsfile(ci: CI) -> None:
    await _template(ci)

    answer = await ci.create(
        "templated",
        type="PIPELINE_TYPE_TEMPLATE",
        template={"name": "deploy", "parameters": json.dumps({"target": "prod"})},
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["type"] == "PIPELINE_TYPE_TEMPLATE"
    assert "echo 'to prod'" in answer.json()["jenkinsfile"]
    assert "echo 'to prod'" in ci.job("templated").config.script


async def test_unknown_template_is_404_and_nothing_is_stored(ci: CI) -> None:
    answer = await ci.create(
        "no-template", type="PIPELINE_TYPE_TEMPLATE", template={"name": "nowhere"}
    )

    assert answer.status_code == 404
    assert (await ci.get("no-template")).status_code == 404


async def test_template_pipeline_without_a_template_name_is_400(ci: CI) -> None:
    answer = await ci.create("unnamed-template", type="PIPELINE_TYPE_TEMPLATE")

    assert answer.status_code == 400
    assert answer.json()["message"].startswith("template.name")
