"""The Jenkinsfile converter, borrowed from `libs.jenkinsfile`.

Jenkins turns a declarative Jenkinsfile into its JSON model inside pipeline-model-definition;
this project has the same converter as a library (`libs.jenkinsfile.to_json`, raising
`ConversionError` with a line and column). The stand-in uses it twice: to read a job's script
when a run starts, and behind the `/pipeline-model-converter/*` endpoints.

The library is imported lazily, so the stand-in still starts when it is absent. A script that
is itself a JSON object (`{"pipeline": {...}}`) is taken as the model directly: a stand-in
convenience that lets tests drive the executor without going through Groovy syntax.
"""

from __future__ import annotations

import importlib
import json
from types import ModuleType
from typing import Any


class ConversionFailed(Exception):
    """The script could not be turned into a model (syntax error or converter missing)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def _library() -> ModuleType | None:
    try:
        return importlib.import_module("libs.jenkinsfile")
    except ImportError:
        return None


def available() -> bool:
    return _library() is not None


def to_model(text: str) -> dict[str, Any]:
    """The declarative JSON model of a Jenkinsfile (or of a JSON model given as text)."""
    if text.lstrip().startswith("{"):
        try:
            model = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConversionFailed(f"Invalid JSON model: {exc.msg}", exc.lineno, exc.colno) from exc
        if not isinstance(model, dict) or "pipeline" not in model:
            raise ConversionFailed("A JSON model needs a top-level 'pipeline' object")
        return model

    library = _library()
    if library is None:
        raise ConversionFailed("the Jenkinsfile converter (libs.jenkinsfile) is not installed")
    try:
        model = library.to_json(text)
    except library.ConversionError as exc:
        raise ConversionFailed(
            str(getattr(exc, "message", None) or exc),
            getattr(exc, "line", None),
            getattr(exc, "column", None),
        ) from exc
    return dict(model)


def to_jenkinsfile(model: dict[str, Any]) -> str:
    """The Jenkinsfile of a JSON model, when the library offers the reverse direction."""
    library = _library()
    converter = getattr(library, "to_jenkinsfile", None) if library is not None else None
    if converter is None:
        raise ConversionFailed("toJenkinsfile is not available in libs.jenkinsfile")
    try:
        return str(converter(model))
    except library.ConversionError as exc:  # type: ignore[union-attr]
        raise ConversionFailed(str(exc)) from exc
