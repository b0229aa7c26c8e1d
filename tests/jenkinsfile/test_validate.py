"""validate(): a model Jenkins would refuse, or that would print a broken Jenkinsfile, is
reported with the path of the offending element in the JSON."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from libs.jenkinsfile import EXTENSION, Problem, to_json, validate

JSON = dict[str, Any]

BASE = to_json(
    "pipeline {\n"
    "    agent any\n"
    "    stages {\n"
    "        stage('Build') {\n"
    "            steps {\n"
    "                echo 'x'\n"
    "            }\n"
    "        }\n"
    "    }\n"
    "}\n"
)


def literal(value: Any) -> JSON:
    return {"isLiteral": True, "value": value}


def expression(text: str) -> JSON:
    return {"isLiteral": False, "value": text}


def steps_stage(name: str, *steps: JSON) -> JSON:
    return {"name": name, "branches": [{"name": "default", "steps": list(steps) or [ECHO]}]}


ECHO: JSON = {"name": "echo", "arguments": [{"key": "message", "value": literal("x")}]}


def problems_after(change: Callable[[JSON], Any]) -> list[Problem]:
    model = copy.deepcopy(BASE)
    change(model["pipeline"])
    return validate(model)


def stage(pipeline: JSON) -> JSON:
    first: JSON = pipeline["stages"][0]
    return first


def first_step(pipeline: JSON) -> JSON:
    step: JSON = stage(pipeline)["branches"][0]["steps"][0]
    return step


def set_echo_value(value: JSON) -> Callable[[JSON], None]:
    def change(pipeline: JSON) -> None:
        first_step(pipeline)["arguments"][0]["value"] = value

    return change


def add_step(step: JSON) -> Callable[[JSON], None]:
    return lambda pipeline: stage(pipeline)["branches"][0]["steps"].append(step)


def script(code: str) -> JSON:
    return {"name": "script", "arguments": [{"key": "scriptBlock", "value": literal(code)}]}


def when(*conditions: JSON) -> Callable[[JSON], None]:
    return lambda pipeline: stage(pipeline).update(when={"conditions": list(conditions)})


ECHO_VALUE = "pipeline.stages[0].branches[0].steps[0].arguments[0].value"
STEP = "pipeline.stages[0].branches[0].steps"
WHEN = "pipeline.stages[0].when.conditions[0]"


def test_the_base_model_is_valid() -> None:
    assert validate(BASE) == []


# -- sections and shapes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (lambda p: p.update(matrix={}), "pipeline.matrix", "unknown section 'matrix'"),
        (lambda p: stage(p).update(bogus=1), "pipeline.stages[0].bogus", "unknown stage section"),
        (lambda p: p.pop("agent"), "pipeline", "needs an 'agent'"),
        (lambda p: p.update(stages=[]), "pipeline.stages", "at least one stage"),
        (
            lambda p: p.update({EXTENSION: {"sections": ["mystery { }"]}}),
            f"pipeline.{EXTENSION}.sections[0]",
            "not part of the declarative model",
        ),
    ],
    ids=["pipeline", "stage", "missing-agent", "empty-stages", "kept-section"],
)
def test_unknown_and_missing_sections_are_reported(
    change: Callable[[JSON], Any], path: str, words: str
) -> None:
    [problem] = problems_after(change)
    assert problem.path == path and words in problem.message


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (lambda p: first_step(p).update(arguments="x"), f"{STEP}[0].arguments", "value or a list"),
        (
            lambda p: first_step(p).update(arguments=[literal("a"), {"key": "b", "value": ECHO}]),
            f"{STEP}[0].arguments",
            "mix named and positional",
        ),
        (set_echo_value({"value": "x"}), ECHO_VALUE, "isLiteral"),
        (set_echo_value({"isLiteral": "yes", "value": "x"}), f"{ECHO_VALUE}.isLiteral", "true or"),
        (set_echo_value(literal({"a": 1})), f"{ECHO_VALUE}.value", "string, number"),
        (set_echo_value(expression(1)), f"{ECHO_VALUE}.value", "must be a string"),  # type: ignore[arg-type]
        (
            lambda p: p.update(options={"options": [{"name": "timeout", "arguments": literal(1)}]}),
            "pipeline.options.options[0].arguments",
            "must be a list",
        ),
        (
            lambda p: p.update(environment={"A": "x"}),
            "pipeline.environment",
            "non-empty list",
        ),
        (
            lambda p: p.update(environment=[{"key": "A-B", "value": literal("x")}]),
            "pipeline.environment[0].key",
            "not a valid variable name",
        ),
        (
            lambda p: p.update(environment=[{"key": "A", "value": {"name": "credentials"}}]),
            "pipeline.environment[0].value.arguments",
            "takes one id",
        ),
        (
            lambda p: first_step(p).update(name="foo bar"),
            f"{STEP}[0].name",
            "not a valid step name",
        ),
        (
            lambda p: p.update(tools=[{"key": "maven m3", "value": literal("m3")}]),
            "pipeline.tools[0].key",
            "not a valid tool name",
        ),
        (
            lambda p: p.update(post={"conditions": [{"condition": "sometimes", "branch": {}}]}),
            "pipeline.post.conditions[0].condition",
            "unknown post condition",
        ),
    ],
    ids=[
        "arguments-string",
        "arguments-mixed",
        "value-without-isLiteral",
        "isLiteral-string",
        "value-object",
        "expression-number",
        "options-single-value",
        "environment-object",
        "environment-key",
        "credentials-without-id",
        "step-name",
        "tool-name",
        "post-condition",
    ],
)
def test_wrong_shapes_are_reported_at_their_path(
    change: Callable[[JSON], Any], path: str, words: str
) -> None:
    problems = problems_after(change)
    assert any(p.path == path and words in p.message for p in problems), problems


# -- stage structure ------------------------------------------------------------------


def test_stage_with_steps_and_parallel_is_reported() -> None:
    [problem] = problems_after(lambda p: stage(p).update(parallel=[steps_stage("p")]))
    assert problem.path == "pipeline.stages[0]"
    assert "both steps and parallel" in problem.message


def test_duplicate_top_level_stage_names_are_reported() -> None:
    [problem] = problems_after(lambda p: p["stages"].append(steps_stage("Build")))
    assert problem.path == "pipeline.stages[1]"
    assert "duplicate stage name 'Build' (also at pipeline.stages[0])" in problem.message


def test_duplicate_names_across_parallel_and_nested_stages_are_reported() -> None:
    def change(pipeline: JSON) -> None:
        pipeline["stages"].append({"name": "Test", "parallel": [steps_stage("Build")]})
        pipeline["stages"].append(
            {"name": "Ship", "stages": [steps_stage("Push"), steps_stage("Push")]}
        )

    problems = problems_after(change)
    assert [p.path for p in problems] == [
        "pipeline.stages[1].parallel[0]",
        "pipeline.stages[2].stages[1]",
    ]
    assert all("duplicate stage name" in p.message for p in problems)


def test_duplicate_parallel_branch_names_are_reported() -> None:
    def change(pipeline: JSON) -> None:
        branch = {"name": "unit", "steps": [ECHO]}
        stage(pipeline)["branches"] = [branch, copy.deepcopy(branch)]

    [problem] = problems_after(change)
    assert problem.path == "pipeline.stages[0].branches[1]"


def test_parallel_inside_parallel_is_reported() -> None:
    def change(pipeline: JSON) -> None:
        inner = {"name": "b", "parallel": [steps_stage("c")]}
        pipeline["stages"] = [{"name": "a", "parallel": [inner]}]

    [problem] = problems_after(change)
    assert problem.path == "pipeline.stages[0].parallel[0].parallel"
    assert "cannot hold a parallel" in problem.message


def test_matrix_inside_sequential_stages_inside_parallel_is_reported() -> None:
    def change(pipeline: JSON) -> None:
        matrix = {
            "axes": [{"name": "X", "values": [literal("a")]}],
            "stages": [steps_stage("cell")],
        }
        group = {"name": "b", "stages": [{"name": "c", "matrix": matrix}]}
        pipeline["stages"] = [{"name": "a", "parallel": [group]}]

    [problem] = problems_after(change)
    assert problem.path == "pipeline.stages[0].parallel[0].stages[0].matrix"


def test_parallel_inside_a_matrix_is_reported() -> None:
    def change(pipeline: JSON) -> None:
        matrix = {
            "axes": [{"name": "X", "values": [literal("a")]}],
            "stages": [{"name": "cell", "parallel": [steps_stage("p")]}],
        }
        pipeline["stages"] = [{"name": "a", "matrix": matrix}]

    [problem] = problems_after(change)
    assert problem.path == "pipeline.stages[0].matrix.stages[0].parallel"


def test_parallel_inside_top_level_sequential_stages_is_valid() -> None:
    def change(pipeline: JSON) -> None:
        group = {"name": "b", "parallel": [steps_stage("c"), steps_stage("d")]}
        pipeline["stages"] = [{"name": "a", "stages": [group]}]

    assert problems_after(change) == []


# -- text that would not print as Groovy ----------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["foo bar baz", "'unterminated", "} } pipeline {", "${}", "a)", "[1, 2", "x\n+ 1"],
)
def test_expression_that_is_not_one_groovy_expression_is_reported(text: str) -> None:
    [problem] = problems_after(set_echo_value(expression(text)))
    assert problem.path == f"{ECHO_VALUE}.value"
    assert problem.message.startswith("not a Groovy expression (line ")


@pytest.mark.parametrize(
    "text",
    ['"FOO is $FOO"', "${env.BRANCH_NAME}", "[a: 1, 'b c': \"${x}\"]", "${{ it * 2 }}"],
)
def test_expressions_the_reader_writes_are_valid(text: str) -> None:
    assert problems_after(set_echo_value(expression(text))) == []


def test_named_arguments_as_a_single_step_value_are_valid() -> None:
    step = {"name": "step", "arguments": expression("${$class: 'JUnit', testResults: 'x'}")}
    assert problems_after(add_step(step)) == []


def test_expression_in_environment_is_checked() -> None:
    [problem] = problems_after(
        lambda p: p.update(environment=[{"key": "A", "value": expression("foo bar")}])
    )
    assert problem.path == "pipeline.environment[0].value.value"
    assert "'bar' follows the expression" in problem.message


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("} } } }\necho 'x'", "'}' closes nothing"),
        ("echo 'x", "unterminated string"),
        ("if (x) {\n  echo 'y'", "'{' is never closed"),
        ("foo(]", "does not close the '('"),
        ("/* open", "unterminated /* comment"),
    ],
    ids=["escapes-its-block", "quote", "unclosed", "crossed", "comment"],
)
def test_script_block_that_would_not_stay_in_its_block_is_reported(code: str, words: str) -> None:
    [problem] = problems_after(add_step(script(code)))
    assert problem.path == f"{STEP}[1].arguments[0].value.value"
    assert words in problem.message


def test_script_block_with_braces_in_strings_and_comments_is_valid() -> None:
    code = "def x = [a: '}']  // a } here\nif (x) { echo \"${x}\" }"
    assert problems_after(add_step(script(code))) == []


def test_script_step_in_the_old_single_value_form_is_reported() -> None:
    [problem] = problems_after(add_step({"name": "script", "arguments": literal("echo 1")}))
    assert problem.path == f"{STEP}[1].arguments"
    assert "scriptBlock" in problem.message


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (literal(2**80), "64-bit long"),
        (literal(-(2**63) - 1), "64-bit long"),
        (literal(float("nan")), "NaN and infinity"),
        (literal(float("inf")), "NaN and infinity"),
    ],
    ids=["2**80", "below-long", "nan", "infinity"],
)
def test_numbers_without_a_groovy_literal_are_reported(value: JSON, words: str) -> None:
    [problem] = problems_after(set_echo_value(value))
    assert problem.path == f"{ECHO_VALUE}.value" and words in problem.message


def test_numbers_at_the_long_limits_are_valid() -> None:
    assert problems_after(set_echo_value(literal(2**63 - 1))) == []
    assert problems_after(set_echo_value(literal(-(2**63)))) == []


# -- required arguments ---------------------------------------------------------------


def test_label_agent_without_its_label_is_reported() -> None:
    [problem] = problems_after(lambda p: p.update(agent={"type": "label"}))
    assert problem.path == "pipeline.agent" and "needs its label" in problem.message


def test_docker_agent_without_an_image_is_reported() -> None:
    args = [{"key": "args", "value": literal("-v /tmp:/tmp")}]
    [problem] = problems_after(lambda p: p.update(agent={"type": "docker", "arguments": args}))
    assert problem.path == "pipeline.agent" and "needs its image" in problem.message


def test_docker_agent_with_an_image_in_its_block_is_valid() -> None:
    args = [{"key": "image", "value": literal("maven:3")}]
    assert problems_after(lambda p: p.update(agent={"type": "docker", "arguments": args})) == []


def test_agent_option_with_a_name_that_cannot_print_is_reported() -> None:
    args = [{"key": "bad key", "value": literal("x")}]
    [problem] = problems_after(lambda p: p.update(agent={"type": "kubernetes", "arguments": args}))
    assert problem.path == "pipeline.agent.arguments[0].key"


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ({"name": "branch"}, "'branch' needs pattern"),
        ({"name": "branch", "arguments": []}, "'branch' needs pattern"),
        (
            {"name": "environment", "arguments": [{"key": "name", "value": literal("A")}]},
            "'environment' needs value",
        ),
        ({"name": "equals", "arguments": literal(1)}, "'equals' needs actual"),
        ({"name": "triggeredBy", "arguments": []}, "'triggeredBy' needs cause"),
    ],
    ids=["branch-missing", "branch-empty", "environment", "equals-one-value", "triggeredBy"],
)
def test_when_condition_without_its_required_parameter_is_reported(
    condition: JSON, words: str
) -> None:
    [problem] = problems_after(when(condition))
    assert problem.path == WHEN and words in problem.message


def test_when_conditions_with_their_parameters_are_valid() -> None:
    conditions = [
        {"name": "branch", "arguments": literal("main")},
        {"name": "buildingTag", "arguments": []},
        {
            "name": "environment",
            "arguments": [
                {"key": "name", "value": literal("A")},
                {"key": "value", "value": literal("1")},
            ],
        },
        {"name": "not", "children": [{"name": "tag", "arguments": literal("v*")}]},
    ]
    assert problems_after(when(*conditions)) == []


def test_expression_condition_without_a_script_block_is_reported() -> None:
    [problem] = problems_after(when({"name": "expression", "arguments": literal("true")}))
    assert problem.path == f"{WHEN}.arguments" and "scriptBlock" in problem.message


def test_expression_condition_code_is_checked() -> None:
    condition = {"name": "expression", "arguments": script("return x }")["arguments"]}
    [problem] = problems_after(when(condition))
    assert problem.path == f"{WHEN}.arguments[0].value.value"
    assert "closes nothing" in problem.message


def test_unknown_when_condition_is_reported_with_the_valid_ones() -> None:
    [problem] = problems_after(when({"name": "sometimes", "arguments": []}))
    assert problem.path == f"{WHEN}.name"
    assert "unknown when condition 'sometimes'" in problem.message
    assert "branch" in problem.message


def test_input_without_a_message_is_reported() -> None:
    [problem] = problems_after(lambda p: stage(p).update(input={"ok": literal("Go")}))
    assert problem.path == "pipeline.stages[0].input" and "message" in problem.message
