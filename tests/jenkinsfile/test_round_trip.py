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
