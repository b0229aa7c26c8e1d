"""Declarative Jenkinsfile <-> pipeline JSON model, without a Jenkins.

(Full design notes are being written; see the module docstrings.)
"""

from __future__ import annotations

from typing import Any

from libs.jenkinsfile._errors import ConversionError, ScriptedPipelineError
from libs.jenkinsfile._reader import EXTENSION, read_jenkinsfile

__all__ = ["EXTENSION", "ConversionError", "ScriptedPipelineError", "to_json"]


def to_json(text: str) -> dict[str, Any]:
    """Parse a declarative Jenkinsfile into ``{"pipeline": {...}}``, Jenkins's JSON model."""
    return read_jenkinsfile(text)
