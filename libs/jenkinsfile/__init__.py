"""Declarative Jenkinsfile <-> pipeline JSON model, without a Jenkins.

(Full design notes are being written; see the module docstrings.)
"""

from __future__ import annotations

from typing import Any

from libs.jenkinsfile._errors import ConversionError, ScriptedPipelineError
from libs.jenkinsfile._reader import EXTENSION, read_jenkinsfile
from libs.jenkinsfile._splice import Splicer
from libs.jenkinsfile._validate import Problem, validate_model
from libs.jenkinsfile._writer import MAX_MODEL_DEPTH, model_too_deep, write_jenkinsfile

__all__ = [
    "EXTENSION",
    "ConversionError",
    "Problem",
    "ScriptedPipelineError",
    "to_jenkinsfile",
    "to_json",
    "validate",
]


def to_json(text: str) -> dict[str, Any]:
    """Parse a declarative Jenkinsfile into ``{"pipeline": {...}}``, Jenkins's JSON model."""
    return read_jenkinsfile(text)


def to_jenkinsfile(model: dict[str, Any], *, original: str | None = None) -> str:
    """Print a model as a Jenkinsfile, keeping ``original``'s comments where unchanged."""
    if model_too_deep(model):
        raise ConversionError(f"the model nests deeper than {MAX_MODEL_DEPTH} levels")
    if original is not None:
        try:
            splicer = Splicer(original)
        except ConversionError:
            splicer = None
        if splicer is not None:
            return splicer.document(model)
    return write_jenkinsfile(model)


def validate(model: dict[str, Any]) -> list[Problem]:
    """Problems of a JSON model against the declarative model; empty when it is valid."""
    return validate_model(model)
