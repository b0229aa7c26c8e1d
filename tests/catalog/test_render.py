"""Rendering a template into a Jenkinsfile through devops-server's SDK (`Catalog/RenderTemplate`),
as the pipeline side calls it when a pipeline is created from a template."""

from __future__ import annotations

import json

import pytest
from workbench_sdk.devops.v1 import catalog_pb2 as sdk

from libs.common.errors import FailedPrecondition, InvalidArgument, NotFound
from tests.catalog.conftest import PIPELINE, SPEC, Stack, make_workspace

SWITCHES = """\
parameterDefinitions:
  - name: env
    type: choice
    default: [dev, staging, prod]
  - name: deploy
    type: boolean
    default: false
  - name: note
    default: ""
jenkinsfileTemplate: |
  {{- /* a comment */ -}}
  {{ if eq .params.env "prod" }}careful{{ else if ne .params.env "dev" }}{{ .params.env }}
  {{- else }}relaxed{{ end }}
  {{ if not .params.deploy }}no deploy{{ end }}
  {{ if .params.note }}note: {{ .params.note }}{{ else }}no note{{ end }}
"""


async def render(stack: Stack, workspace_id: int, name: str, values: object, **kw: bool) -> str:
    client = stack.api.devops
    answer = await client.call(
        client.catalog.RenderTemplate,
        sdk.RenderTemplateRequest(
            workspace_id=workspace_id,
            name=name,
            parameters=values if isinstance(values, str) else json.dumps(values),
            global_=kw.get("global_", False),
        ),
    )
    jenkinsfile: str = answer.jenkinsfile
    return jenkinsfile


@pytest.fixture(scope="module")
def stack(shared_stack: Stack) -> Stack:
    return shared_stack


@pytest.fixture(scope="module")
async def team(stack: Stack) -> int:
    workspace_id = await make_workspace(stack, "team-a")
    for name, spec in (("go", SPEC), ("switches", SWITCHES)):
        answer = await stack.http.post(
            f"{PIPELINE}/workspaces/{workspace_id}/templates",
            json={"name": name, "spec": spec},
            headers=stack.auth("admin"),
        )
        assert answer.status_code == 200, answer.text
    return workspace_id


async def test_values_and_defaults_fill_the_placeholders(stack: Stack, team: int) -> None:
    jenkinsfile = await render(stack, team, "go", {"gitURL": "https://git.example/app.git"})

    assert jenkinsfile == (
        "pipeline {\n"
        "  agent { label 'go1.22' }\n"
        "  stages {\n"
        "    stage('clone') { steps { git url: 'https://git.example/app.git' } }\n"
        "    stage('test') { steps { sh 'go test ./...' } }\n"
        "  }\n"
        "}\n"
    )


async def test_a_false_boolean_drops_its_block(stack: Stack, team: int) -> None:
    jenkinsfile = await render(
        stack, team, "go", {"gitURL": "u", "runTests": False, "goVersion": "1.21"}
    )

    assert "stage('test')" not in jenkinsfile
    assert "label 'go1.21'" in jenkinsfile


async def test_boolean_accepts_the_strings_true_and_false(stack: Stack, team: int) -> None:
    jenkinsfile = await render(stack, team, "go", {"gitURL": "u", "runTests": "false"})

    assert "stage('test')" not in jenkinsfile


async def test_conditions_eq_ne_not_and_empty_strings(stack: Stack, team: int) -> None:
    prod = await render(stack, team, "switches", {"env": "prod", "deploy": True})
    staging = await render(stack, team, "switches", {"env": "staging", "note": "hi"})
    dev = await render(stack, team, "switches", {})

    assert prod == "careful\n\nno note\n"
    assert staging == "staging\nno deploy\nnote: hi\n"
    assert dev == "relaxed\nno deploy\nno note\n"


async def test_text_parameters_may_hold_line_breaks(stack: Stack, team: int) -> None:
    jenkinsfile = await render(stack, team, "go", {"gitURL": "u", "notes": "one\ntwo"})

    assert jenkinsfile.startswith("pipeline {")


@pytest.mark.parametrize(
    ("values", "field", "why"),
    [
        ({"gitURL": "u", "colour": "red"}, "parameters.colour", "no such parameter"),
        ({}, "parameters.gitURL", "required"),
        ({"gitURL": 7.5, "runTests": "yes"}, "parameters.runTests", "boolean"),
        ({"gitURL": ["a"]}, "parameters.gitURL", "string"),
        ({"gitURL": "u", "goVersion": "1.9"}, "parameters.goVersion", "not one of the choices"),
        ({"gitURL": "u\n}\nevil()"}, "parameters.gitURL", "line breaks"),
        ({"gitURL": "u", "notes": "bell\x07"}, "parameters.notes", "control characters"),
    ],
)
async def test_bad_value_is_invalid_argument_naming_the_parameter(
    stack: Stack, team: int, values: dict[str, object], field: str, why: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await render(stack, team, "go", values)

    assert caught.value.message.startswith(field)
    assert why in caught.value.message


@pytest.mark.parametrize("values", ["not json", "[1, 2]", '"text"'])
async def test_values_that_are_not_a_json_object_are_refused(
    stack: Stack, team: int, values: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await render(stack, team, "go", values)

    assert caught.value.message.startswith("parameters:")


async def test_a_disabled_global_template_is_refused(stack: Stack, team: int) -> None:
    await stack.http.post(
        f"{PIPELINE}/templates", json={"name": "retired", "spec": SPEC}, headers=stack.auth("admin")
    )
    await stack.http.post(
        f"{PIPELINE}/templates/retired:disable", json={}, headers=stack.auth("admin")
    )

    with pytest.raises(FailedPrecondition) as caught:
        await render(stack, team, "retired", {"gitURL": "u"}, global_=True)

    assert "disabled" in caught.value.message


async def test_an_enabled_global_template_renders(stack: Stack, team: int) -> None:
    await stack.http.post(
        f"{PIPELINE}/templates", json={"name": "shared", "spec": SPEC}, headers=stack.auth("admin")
    )

    jenkinsfile = await render(stack, team, "shared", {"gitURL": "u"}, global_=True)

    assert "git url: 'u'" in jenkinsfile


async def test_a_template_of_another_workspace_is_not_found(stack: Stack, team: int) -> None:
    other = await make_workspace(stack, "team-b")

    with pytest.raises(NotFound):
        await render(stack, other, "go", {"gitURL": "u"})
