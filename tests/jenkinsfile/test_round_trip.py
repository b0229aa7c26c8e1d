"""Jenkinsfile -> JSON -> Jenkinsfile keeps what the edit did not touch."""

from __future__ import annotations

import copy
from typing import Any

from libs.jenkinsfile import EXTENSION, to_jenkinsfile, to_json

ORIGINAL = """\
// Billing service pipeline.
@Library('shared') _

pipeline {
  agent any // anywhere

  environment {
    // where images go
    REGISTRY = 'registry.example.com'
  }

  stages {
    stage('Build') {
      steps {
        // compile first
        sh 'make build'

        sh 'make test' // fast tests
      }
    }
    stage('Ship') {
      steps { sh 'make push' }
    }
  }
  customSection 'kept'
}
"""


def edited(change: Any) -> str:
    model = to_json(ORIGINAL)
    new = copy.deepcopy(model)
    change(new["pipeline"])
    text = to_jenkinsfile(new, original=ORIGINAL)
    assert to_json(text) == new
    return text


def sh(script: str) -> dict[str, Any]:
    return {
        "name": "sh",
        "arguments": [{"key": "script", "value": {"isLiteral": True, "value": script}}],
    }


def test_unchanged_model_returns_the_original() -> None:
    assert to_jenkinsfile(to_json(ORIGINAL), original=ORIGINAL) == ORIGINAL


def test_inserted_step_keeps_the_neighbours_comments_and_blank_lines() -> None:
    text = edited(lambda p: p["stages"][0]["branches"][0]["steps"].insert(1, sh("make lint")))
    assert "        // compile first\n        sh 'make build'\n        sh 'make lint'\n\n" in text
    assert "sh 'make test' // fast tests" in text


def test_changed_step_keeps_its_trailing_comment() -> None:
    def change(p: Any) -> None:
        p["stages"][0]["branches"][0]["steps"][1] = sh("make test-all")

    assert "sh 'make test-all' // fast tests" in edited(change)


def test_removed_stage_takes_only_its_own_text() -> None:
    text = edited(lambda p: p["stages"].pop())
    assert "Ship" not in text
    assert "// compile first" in text and "// where images go" in text


def test_new_environment_variable_uses_the_file_indentation() -> None:
    def change(p: Any) -> None:
        p["environment"].append({"key": "TAG", "value": {"isLiteral": True, "value": "v1"}})

    assert "    REGISTRY = 'registry.example.com'\n    TAG = 'v1'\n" in edited(change)


def test_new_section_is_inserted_in_canonical_place() -> None:
    def change(p: Any) -> None:
        p["options"] = {"options": [{"name": "timestamps", "arguments": []}]}

    text = edited(change)
    assert text.index("options {") < text.index("environment {")
    assert "  options {\n    timestamps()\n  }\n" in text


def test_prelude_comment_and_unmodelled_section_survive_an_edit() -> None:
    text = edited(lambda p: p["stages"][1]["branches"][0]["steps"].append(sh("make tag")))
    assert text.startswith("// Billing service pipeline.\n@Library('shared') _\n")
    assert "  customSection 'kept'\n" in text


def test_unmodelled_section_and_prelude_are_in_the_json() -> None:
    extension = to_json(ORIGINAL)["pipeline"][EXTENSION]
    assert extension["sections"] == ["customSection 'kept'"]
    assert extension["prelude"] == "// Billing service pipeline.\n@Library('shared') _"


def test_unmodelled_section_survives_without_the_original() -> None:
    text = to_jenkinsfile(to_json(ORIGINAL))
    assert "customSection 'kept'" in text
    assert to_json(text) == to_json(ORIGINAL)


def test_unparseable_original_falls_back_to_fresh_printing() -> None:
    model = to_json(ORIGINAL)
    assert to_jenkinsfile(model, original="node { }") == to_jenkinsfile(model)


BLOCKS = """\
pipeline {
    agent any
    environment {
        // the registry
        REG = 'r' // trailing
        TAG = 'v1'
    }
    stages {
        // compile everything
        stage('build') {
            when {
                // only main
                branch 'main'
            }
            steps {
                dir('src') {
                    // compile
                    sh 'make'

                    // test
                    sh 'make test'
                }
                timeout(time: 5, unit: 'MINUTES') {
                    sh 'make slow' // long
                }
                withCredentials([string(credentialsId: 'token', variable: 'T')]) {
                    // publish
                    sh 'make publish'
                }
            }
            post {
                // notify
                always {
                    echo 'done' // d
                }
            }
        }
        stage('ship') {
            steps {
                sh 'make push' // push it
            }
        }
    }
}
"""


def edited_blocks(change: Any) -> str:
    new = copy.deepcopy(to_json(BLOCKS))
    change(new["pipeline"])
    text = to_jenkinsfile(new, original=BLOCKS)
    assert to_json(text) == new
    return text


def changed_lines(text: str) -> list[tuple[str, str]]:
    """(old, new) line pairs; the edits in these tests keep the number of lines."""
    old_lines, new_lines = BLOCKS.splitlines(), text.splitlines()
    assert len(old_lines) == len(new_lines), text
    return [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]


def build_steps(p: Any) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = p["stages"][0]["branches"][0]["steps"]
    return steps


def test_renamed_stage_reprints_only_its_header() -> None:
    text = edited_blocks(lambda p: p["stages"][0].update(name="compile"))
    assert changed_lines(text) == [("        stage('build') {", "        stage('compile') {")]


def test_renamed_stage_keeps_its_place_among_others() -> None:
    def change(p: Any) -> None:
        p["stages"][1]["name"] = "deliver"
        p["stages"][0]["branches"][0]["steps"][0]["children"].pop()

    text = edited_blocks(change)
    assert (
        "stage('deliver') {\n            steps {\n                sh 'make push' // push it" in text
    )
    assert "// compile everything\n        stage('build')" in text


def test_changed_dir_argument_keeps_the_comments_inside() -> None:
    def change(p: Any) -> None:
        build_steps(p)[0]["arguments"] = {"isLiteral": True, "value": "lib"}

    assert changed_lines(edited_blocks(change)) == [
        ("                dir('src') {", "                dir('lib') {")
    ]


def test_changed_timeout_keeps_the_comments_inside() -> None:
    def change(p: Any) -> None:
        build_steps(p)[1]["arguments"][0]["value"]["value"] = 10

    assert changed_lines(edited_blocks(change)) == [
        (
            "                timeout(time: 5, unit: 'MINUTES') {",
            "                timeout(time: 10, unit: 'MINUTES') {",
        )
    ]


def test_changed_credentials_keep_the_comments_inside() -> None:
    def change(p: Any) -> None:
        value = build_steps(p)[2]["arguments"]["value"]
        build_steps(p)[2]["arguments"]["value"] = value.replace("token", "api-token")

    [(before, after)] = changed_lines(edited_blocks(change))
    assert before.replace("'token'", "'api-token'") == after


def test_renamed_block_step_keeps_its_children_text() -> None:
    def change(p: Any) -> None:
        build_steps(p)[0]["name"] = "ws"
        build_steps(p)[0]["children"][1]["arguments"][0]["value"]["value"] = "make check"

    assert changed_lines(edited_blocks(change)) == [
        ("                dir('src') {", "                ws('src') {"),
        ("                    sh 'make test'", "                    sh 'make check'"),
    ]


def test_renamed_environment_variable_keeps_its_comments() -> None:
    text = edited_blocks(lambda p: p["environment"][0].update(key="REGISTRY"))
    assert changed_lines(text) == [
        ("        REG = 'r' // trailing", "        REGISTRY = 'r' // trailing")
    ]


def test_renamed_post_condition_keeps_its_steps_text() -> None:
    text = edited_blocks(
        lambda p: p["stages"][0]["post"]["conditions"][0].update(condition="success")
    )
    assert changed_lines(text) == [("                always {", "                success {")]


def test_changed_when_condition_keeps_the_comment_above_it() -> None:
    def change(p: Any) -> None:
        p["stages"][0]["when"]["conditions"][0]["arguments"]["value"] = "release"

    assert changed_lines(edited_blocks(change)) == [
        ("                branch 'main'", "                branch 'release'")
    ]


def test_swapped_stages_move_with_their_text() -> None:
    text = edited_blocks(lambda p: p["stages"].reverse())
    assert text.index("stage('ship')") < text.index("stage('build')")
    assert "sh 'make push' // push it" in text and "// compile\n" in text


def test_new_and_removed_stage_at_one_index_is_a_rename() -> None:
    def change(p: Any) -> None:
        p["stages"][1] = {
            "name": "deliver",
            "branches": [{"name": "default", "steps": [sh("make deliver")]}],
        }

    text = edited_blocks(change)
    assert (
        "stage('deliver') {\n            steps {\n                sh 'make deliver' // push it"
        in (text)
    )


KEPT = """\
// Billing service pipeline.
@Library('shared@main') _
import groovy.json.JsonSlurper

def helper() { return 'x' }

pipeline {
    agent any
    mystery {
        foo 'bar'
    }
    stages {
        stage('Build') {
            customStageSection 'kept'
            steps {
                sh 'make'
            }
        }
    }
}
// footer
"""


def without_extension(node: Any) -> Any:
    """The model as an editor that knows only Jenkins's JSON sends it back."""
    if isinstance(node, dict):
        return {k: without_extension(v) for k, v in node.items() if k != EXTENSION}
    if isinstance(node, list):
        return [without_extension(item) for item in node]
    return node


def test_model_without_kept_text_keeps_the_original_text() -> None:
    model = without_extension(to_json(KEPT))
    model["pipeline"]["stages"][0]["branches"][0]["steps"] = [sh("make all")]

    text = to_jenkinsfile(model, original=KEPT)

    assert text == KEPT.replace("sh 'make'", "sh 'make all'")


def test_unchanged_model_without_kept_text_prints_the_original() -> None:
    assert to_jenkinsfile(without_extension(to_json(KEPT)), original=KEPT) == KEPT


def test_renamed_stage_without_kept_text_keeps_its_section() -> None:
    model = without_extension(to_json(KEPT))
    model["pipeline"]["stages"][0]["name"] = "Compile"

    text = to_jenkinsfile(model, original=KEPT)

    assert text == KEPT.replace("stage('Build')", "stage('Compile')")


def test_empty_kept_text_removes_it() -> None:
    model = without_extension(to_json(KEPT))
    model["pipeline"][EXTENSION] = {}

    text = to_jenkinsfile(model, original=KEPT)

    assert "@Library" not in text and "mystery" not in text and "// footer" not in text
    assert "customStageSection 'kept'" in text
    assert to_json(text)["pipeline"]["stages"] == to_json(KEPT)["pipeline"]["stages"]


def test_expression_condition_ending_in_a_comment_keeps_its_closing_brace() -> None:
    model = to_json(ORIGINAL)
    model["pipeline"]["stages"][0]["when"] = {
        "conditions": [
            {
                "name": "expression",
                "arguments": [
                    {"key": "scriptBlock", "value": {"isLiteral": True, "value": "x // why"}}
                ],
            }
        ]
    }

    text = to_jenkinsfile(model)

    condition = to_json(text)["pipeline"]["stages"][0]["when"]["conditions"][0]
    assert condition["arguments"][0]["value"]["value"] == "x"
