"""Errors point at a line and column, say what to do, and come fast on hostile input."""

from __future__ import annotations

import time

import pytest

from libs.jenkinsfile import (
    EXTENSION,
    ConversionError,
    ScriptedPipelineError,
    to_jenkinsfile,
    to_json,
)
from tests.jenkinsfile.conftest import pipeline_with_steps


def error_of(text: str) -> ConversionError:
    with pytest.raises(ConversionError) as caught:
        to_json(text)
    return caught.value


def test_error_string_is_line_column_message() -> None:
    error = error_of("pipeline {\n    agent any\n    stages {\n")
    assert str(error) == f"line {error.line}, column {error.column}: {error.message}"


def test_unclosed_block_points_at_its_opening_brace() -> None:
    error = error_of("pipeline {\n    agent any\n    stages {\n")
    assert (error.line, error.column) == (3, 12)
    assert "add the '}'" in error.message


def test_scripted_pipeline_with_node_is_recognised() -> None:
    with pytest.raises(ScriptedPipelineError):
        to_json("// build\nnode('linux') {\n    stage('Build') { sh 'make' }\n}\n")


def test_scripted_error_is_a_conversion_error() -> None:
    assert issubclass(ScriptedPipelineError, ConversionError)
    assert issubclass(ConversionError, ValueError)


def test_pipeline_nested_in_a_block_is_refused() -> None:
    error = error_of("node {\n    pipeline {\n        agent any\n    }\n}\n")
    assert not isinstance(error, ScriptedPipelineError)
    assert (error.line, "top level" in error.message) == (2, True)


def test_groovy_statement_among_steps_suggests_script_block() -> None:
    error = error_of(pipeline_with_steps("def x = 1"))
    assert "script { ... }" in error.message
    assert error.line == 6


def test_missing_agent_is_reported() -> None:
    error = error_of(
        "pipeline {\n    stages {\n        stage('a') { steps { echo 'x' } }\n    }\n}\n"
    )
    assert "'agent'" in error.message


def test_stage_with_steps_and_parallel_is_refused() -> None:
    text = pipeline_with_steps("echo 'x'").replace(
        "            steps {",
        "            parallel { stage('p') { steps { echo 'p' } } }\n            steps {",
    )
    assert "both" in error_of(text).message


def test_duplicate_section_names_the_first_one() -> None:
    text = pipeline_with_steps("echo 'x'").replace("agent any", "agent any\n    agent none")
    error = error_of(text)
    assert "twice" in error.message and "line 2" in error.message


def test_unknown_post_condition_lists_the_valid_ones() -> None:
    text = pipeline_with_steps("echo 'x'").replace(
        "    stages {", "    post {\n        sometimes { echo 'x' }\n    }\n    stages {"
    )
    assert "always" in error_of(text).message


def test_interpolated_stage_name_is_refused() -> None:
    text = pipeline_with_steps("echo 'x'").replace("stage('Build')", 'stage("B ${X}")')
    assert "plain string" in error_of(text).message


def test_bare_dollar_in_double_quotes_explains_the_escape() -> None:
    assert "\\$" in error_of(pipeline_with_steps('echo "cost $5"')).message


def test_mixed_named_and_positional_arguments_are_refused() -> None:
    assert "mixes" in error_of(pipeline_with_steps("foo 'a', b: 1")).message


@pytest.mark.parametrize(
    "text",
    [
        "pipeline {\n" + "dir('x') {\n" * 5000 + "}" * 5001,
        "pipeline { stages { stage('a') { steps { echo " + "[" * 50000 + "]" * 50000,
        "pipeline { stages { stage('a') { steps { echo " + '"${' * 5000 + "1" + '}"' * 5000,
        "pipeline { stages { stage('a') { steps { echo '''" + "x" * 2_000_000,
        "pipeline { agent any\n" + "    stages {\n" * 100,
        " " * 5_000_000,
    ],
    ids=["deep-blocks", "deep-brackets", "deep-interpolation", "unterminated", "open", "huge"],
)
def test_hostile_input_fails_fast_with_a_conversion_error(text: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ConversionError):
        to_json(text)
    assert time.perf_counter() - started < 1.0


def test_model_nested_too_deeply_is_a_conversion_error() -> None:
    step: dict[str, object] = {"name": "echo", "arguments": []}
    for _ in range(5000):
        step = {"name": "dir", "arguments": [], "children": [step]}
    model = {
        "pipeline": {
            "agent": {"type": "any"},
            "stages": [{"name": "a", "branches": [{"name": "default", "steps": [step]}]}],
        }
    }
    with pytest.raises(ConversionError):
        to_jenkinsfile(model)


def stages_text(stages: str) -> str:
    return "pipeline {\n    agent any\n    stages {\n" + stages + "\n    }\n}\n"


def test_parallel_inside_parallel_is_refused_at_the_inner_parallel() -> None:
    error = error_of(
        stages_text(
            "        stage('a') {\n"
            "            parallel {\n"
            "                stage('b') {\n"
            "                    parallel { stage('c') { steps { echo 'x' } } }\n"
            "                }\n"
            "            }\n"
            "        }"
        )
    )
    assert (error.line, error.column) == (7, 21)
    assert "stage 'b'" in error.message and "parallel" in error.message


def test_parallel_in_sequential_stages_inside_parallel_is_refused() -> None:
    error = error_of(
        stages_text(
            "        stage('a') { parallel { stage('b') { stages {\n"
            "            stage('c') { parallel { stage('d') { steps { echo 'x' } } } }\n"
            "        } } } }"
        )
    )
    assert (error.line, "stage 'c'" in error.message) == (5, True)


def test_matrix_inside_parallel_is_refused() -> None:
    error = error_of(
        stages_text(
            "        stage('a') { parallel { stage('b') {\n"
            "            matrix { axes { axis { name 'X'; values 'a' } }\n"
            "                stages { stage('c') { steps { echo 'x' } } } }\n"
            "        } } }"
        )
    )
    assert (error.line, error.column) == (5, 13)
    assert "matrix" in error.message


def test_parallel_inside_top_level_sequential_stages_is_allowed() -> None:
    model = to_json(
        stages_text(
            "        stage('a') { stages { stage('b') { parallel {\n"
            "            stage('c') { steps { echo 'x' } }\n"
            "        } } } }"
        )
    )
    assert model["pipeline"]["stages"][0]["stages"][0]["parallel"][0]["name"] == "c"


def test_unknown_when_condition_is_refused_with_the_valid_ones() -> None:
    text = pipeline_with_steps("echo 'x'").replace(
        "            steps {", "            when { sometimes 'x' }\n            steps {"
    )
    error = error_of(text)
    assert (error.line, error.column) == (5, 20)
    assert "'sometimes'" in error.message and "branch" in error.message


def test_when_condition_without_its_required_parameter_is_refused() -> None:
    text = pipeline_with_steps("echo 'x'").replace(
        "            steps {",
        "            when { environment name: 'DEPLOY' }\n            steps {",
    )
    assert "needs value" in error_of(text).message


def test_repeated_matrix_axis_is_refused() -> None:
    error = error_of(
        stages_text(
            "        stage('a') { matrix {\n"
            "            axes { axis { name 'X'; values 'a' }\n"
            "                axis { name 'X'; values 'b' } }\n"
            "            stages { stage('c') { steps { echo 'x' } } } } }"
        )
    )
    assert (error.line, "'X' appears twice" in error.message) == (6, True)


def test_second_pipeline_block_is_refused_where_it_starts() -> None:
    text = pipeline_with_steps("echo 'x'")
    error = error_of(text + "\n" + text)
    assert (error.line, error.column) == (12, 1)
    assert "second pipeline" in error.message


def test_stray_closing_brace_after_the_pipeline_is_refused() -> None:
    error = error_of(pipeline_with_steps("echo 'x'") + "}\n")
    assert (error.line, error.column) == (11, 1)
    assert "closes nothing" in error.message


def test_unclosed_call_after_the_pipeline_is_refused_at_its_bracket() -> None:
    error = error_of(pipeline_with_steps("echo 'x'") + "\nnotify(\n")
    assert (error.line, error.column) == (12, 7)
    assert "never closed" in error.message


def test_helper_function_after_the_pipeline_is_kept() -> None:
    text = pipeline_with_steps("echo 'x'") + "\ndef notify(String to) {\n    mail to: to\n}\n"
    extension = to_json(text)["pipeline"][EXTENSION]
    assert extension == {"epilogue": "def notify(String to) {\n    mail to: to\n}"}


def test_brackets_crossed_inside_a_script_block_are_refused() -> None:
    error = error_of(pipeline_with_steps("script {\n    foo(\n}"))
    assert (error.line, "does not close the '('" in error.message) == (8, True)
