"""Bad template input is a 400 whose message names the field; nothing is stored."""

from __future__ import annotations

import pytest

from tests.catalog.conftest import PIPELINE, SPEC, Stack

TEMPLATES = f"{PIPELINE}/templates"


@pytest.fixture(scope="module")
def stack(shared_stack: Stack) -> Stack:
    return shared_stack


async def post(stack: Stack, name: str, spec: str) -> tuple[int, str]:
    answer = await stack.http.post(
        TEMPLATES, json={"name": name, "spec": spec}, headers=stack.auth("admin")
    )
    return answer.status_code, answer.json().get("message", "")


@pytest.mark.parametrize("name", ["a/b", "a..b", "tab\there", "", "x" * 129, "-lead", "a:b"])
async def test_bad_template_name_is_400_naming_name(stack: Stack, name: str) -> None:
    status, message = await post(stack, name, SPEC)

    assert status == 400
    assert message.startswith("name:")


async def test_template_name_in_another_script_is_accepted(stack: Stack) -> None:
    status, message = await post(stack, "构建 模板", SPEC)

    assert status == 200, message


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ("", "spec"),
        ("a: [", "spec"),
        ("- a list", "spec"),
        ("jenkinsfileTemplate: 42", "spec.jenkinsfileTemplate"),
        ("kind: x\njenkinsfileTemplate: p", "spec.kind"),
        ("parameterDefinitions: 3\njenkinsfileTemplate: p", "spec.parameterDefinitions"),
        (
            "parameterDefinitions: [{name: 1x}]\njenkinsfileTemplate: p",
            "spec.parameterDefinitions[0].name",
        ),
        (
            "parameterDefinitions: [{name: a, type: number}]\njenkinsfileTemplate: p",
            "spec.parameterDefinitions.a.type",
        ),
        (
            "parameterDefinitions: [{name: a, type: choice}]\njenkinsfileTemplate: p",
            "spec.parameterDefinitions.a.default",
        ),
        (
            "parameterDefinitions: [{name: a, type: boolean, default: maybe}]\n"
            "jenkinsfileTemplate: p",
            "spec.parameterDefinitions.a",
        ),
        (
            "parameterDefinitions: [{name: a, type: password, default: s3cret}]\n"
            "jenkinsfileTemplate: p",
            "spec.parameterDefinitions.a.default",
        ),
        (
            "parameterDefinitions: [{name: a}, {name: a}]\njenkinsfileTemplate: p",
            "spec.parameterDefinitions",
        ),
        ("jenkinsfileTemplate: '{{ .params.nope }}'", "spec.jenkinsfileTemplate"),
        ("jenkinsfileTemplate: '{{ range .params }}{{ end }}'", "spec.jenkinsfileTemplate"),
        (
            "parameterDefinitions: [{name: a}]\njenkinsfileTemplate: '{{ if .params.a }}'",
            "spec.jenkinsfileTemplate",
        ),
        ("jenkinsfileTemplate: '{{ end }}'", "spec.jenkinsfileTemplate"),
        ("jenkinsfileTemplate: 'open {{ .params.a'", "spec.jenkinsfileTemplate"),
    ],
)
async def test_bad_spec_is_400_naming_the_field(stack: Stack, spec: str, field: str) -> None:
    status, message = await post(stack, "t", spec)

    assert status == 400
    assert message.startswith(field), message


async def test_unknown_body_field_is_400(stack: Stack) -> None:
    answer = await stack.http.post(
        TEMPLATES, json={"name": "t", "spec": SPEC, "color": "red"}, headers=stack.auth("admin")
    )

    assert answer.status_code == 400
    assert "color" in answer.json()["message"]


async def test_deeply_nested_spec_is_400(stack: Stack) -> None:
    status, message = await post(stack, "t", "[" * 5000 + "]" * 5000)

    assert status == 400
    assert message.startswith("spec")


async def test_control_character_in_fuzzy_name_is_400(stack: Stack) -> None:
    answer = await stack.http.get(
        TEMPLATES, params={"fuzzyName": "a\x00b"}, headers=stack.auth("admin")
    )

    assert answer.status_code == 400
    assert answer.json()["message"].startswith("fuzzyName:")


async def test_get_with_an_impossible_name_is_400(stack: Stack) -> None:
    answer = await stack.http.get(f"{TEMPLATES}/a..b", headers=stack.auth("admin"))

    assert answer.status_code == 400
    assert answer.json()["message"].startswith("name:")
