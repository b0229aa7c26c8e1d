"""Helpers for the converter tests: small Jenkinsfiles are built from a stages body."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest


def pipeline_with_steps(steps: str) -> str:
    """A minimal pipeline whose single stage runs ``steps``."""
    body = textwrap.indent(textwrap.dedent(steps).strip(), " " * 16)
    return (
        "pipeline {\n"
        "    agent any\n"
        "    stages {\n"
        "        stage('Build') {\n"
        "            steps {\n"
        f"{body}\n"
        "            }\n"
        "        }\n"
        "    }\n"
        "}\n"
    )


def first_steps(model: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = model["pipeline"]["stages"][0]["branches"][0]["steps"]
    return steps


@pytest.fixture
def literal() -> Any:
    def make(value: Any) -> dict[str, Any]:
        return {"isLiteral": True, "value": value}

    return make
