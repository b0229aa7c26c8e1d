"""Jenkinsfile -> JSON: the model Jenkins's toJson writes, construct by construct."""

from __future__ import annotations

import pytest

from libs.jenkinsfile import ConversionError, ScriptedPipelineError, to_json
from tests.jenkinsfile.conftest import first_steps, pipeline_with_steps


def test_single_argument_step_is_named_by_its_sole_parameter() -> None:
    steps = first_steps(to_json(pipeline_with_steps("echo 'hello'")))
    assert steps == [
        {
            "name": "echo",
            "arguments": [{"key": "message", "value": {"isLiteral": True, "value": "hello"}}],
        }
    ]


def test_unknown_step_keeps_single_argument_form() -> None:
    steps = first_steps(to_json(pipeline_with_steps("myStep 'x'")))
    assert steps == [{"name": "myStep", "arguments": {"isLiteral": True, "value": "x"}}]


def test_named_arguments_keep_their_order() -> None:
    steps = first_steps(to_json(pipeline_with_steps("sh script: 'ls', returnStdout: true")))
    assert [a["key"] for a in steps[0]["arguments"]] == ["script", "returnStdout"]
    assert steps[0]["arguments"][1]["value"] == {"isLiteral": True, "value": True}


def test_interpolated_string_is_an_expression_with_its_quotes() -> None:
    steps = first_steps(to_json(pipeline_with_steps('echo "FOO is ${FOO}"')))
    assert steps[0]["arguments"][0]["value"] == {"isLiteral": False, "value": '"FOO is ${FOO}"'}


def test_double_quoted_string_without_dollar_is_literal() -> None:
    steps = first_steps(to_json(pipeline_with_steps('echo "plain"')))
    assert steps[0]["arguments"][0]["value"] == {"isLiteral": True, "value": "plain"}


def test_variable_argument_is_wrapped_in_dollar_braces() -> None:
    steps = first_steps(to_json(pipeline_with_steps("checkout scm")))
    assert steps[0]["arguments"][0]["value"] == {"isLiteral": False, "value": "${scm}"}


def test_block_step_keeps_single_argument_and_children() -> None:
    steps = first_steps(to_json(pipeline_with_steps("dir('sub') {\n    sh 'make'\n}")))
    assert steps[0]["name"] == "dir"
    assert steps[0]["arguments"] == {"isLiteral": True, "value": "sub"}
    assert steps[0]["children"][0]["name"] == "sh"


def test_script_block_is_kept_as_groovy_text() -> None:
    text = pipeline_with_steps('script {\n    def x = 1\n    echo "${x}"\n}')
    step = first_steps(to_json(text))[0]
    code = step["arguments"][0]["value"]["value"]
    assert step["arguments"][0]["key"] == "scriptBlock"
    assert code.startswith("def x = 1\n") and code.endswith('echo "${x}"')


def test_agent_any_and_label() -> None:
    model = to_json(pipeline_with_steps("echo 'x'"))
    assert model["pipeline"]["agent"] == {"type": "any"}
    text = pipeline_with_steps("echo 'x'").replace("agent any", "agent { label 'linux' }")
    assert to_json(text)["pipeline"]["agent"] == {
        "type": "label",
        "argument": {"isLiteral": True, "value": "linux"},
    }


def test_environment_literal_and_credentials() -> None:
    text = pipeline_with_steps("echo 'x'").replace(
        "agent any",
        "agent any\n    environment {\n        A = 'b'\n        C = credentials('id')\n    }",
    )
    assert to_json(text)["pipeline"]["environment"] == [
        {"key": "A", "value": {"isLiteral": True, "value": "b"}},
        {
            "key": "C",
            "value": {"name": "credentials", "arguments": [{"isLiteral": True, "value": "id"}]},
        },
    ]


def test_scripted_pipeline_is_reported_as_such() -> None:
    with pytest.raises(ScriptedPipelineError) as caught:
        to_json("node {\n    sh 'make'\n}\n")
    assert (caught.value.line, caught.value.column) == (1, 1)
    assert "scripted pipeline" in str(caught.value)


def test_unterminated_string_points_at_its_start() -> None:
    with pytest.raises(ConversionError) as caught:
        to_json(pipeline_with_steps("echo 'oops"))
    assert (caught.value.line, caught.value.column) == (6, 22)
    assert str(caught.value).startswith("line 6, column 22: unterminated string")
