"""Declarative Jenkinsfile <-> pipeline JSON model, without a Jenkins.

The graphical pipeline editor works on the JSON model of Jenkins's
pipeline-model-definition plugin (the ``json`` its ``pipeline-model-converter/toJson``
endpoint returns); people also write Jenkinsfiles by hand. This package converts between
the two in-process::

    to_json(text) -> {"pipeline": {...}}          # Jenkins's model, value for value
    to_jenkinsfile(model, original=text) -> str   # keeps text's comments where unchanged
    validate(model) -> [Problem(path, message)]   # empty when the model is valid

How it is built:

- ``_lexer``/``_parser``: a hand-written tokenizer and recursive-descent parser for the
  declarative subset of Groovy. Tokens keep source offsets, so errors carry a line and
  column and the printer can copy original text. Free Groovy (``script { }``, the text
  around the ``pipeline`` block) is matched brace for brace but not parsed.
- ``_reader``: builds the JSON with Jenkins's rules (which values are literal, which
  single arguments become named ones, how agents, when, matrix ... look). A Jenkinsfile
  with no top-level ``pipeline`` block raises :class:`ScriptedPipelineError`.
- ``_writer``: prints a model the way people format Jenkinsfiles.
- ``_splice``: with ``original=``, copies every element the edit left equal verbatim and
  re-prints only what changed, so comments and blank lines survive an edit.
- ``_validate``: schema and structural checks of a JSON model.

Decisions worth knowing:

- **What the model cannot hold is kept, not dropped.** Text before and after the
  ``pipeline`` block (``@Library(...) _``, imports, helper functions, leading comments) and
  sections Jenkins's model has no place for (an unknown directive in ``pipeline``, a stage
  or a matrix) are stored as source text under the key ``"x-workbench"`` of the object
  they belong to: ``{"prelude": str, "epilogue": str, "sections": [str, ...]}``. The key is
  only present when there is something to keep, so a standard Jenkinsfile gives exactly
  Jenkins's JSON. ``validate`` reports kept sections, since Jenkins itself rejects them.
  The kept text must still be Groovy that Jenkins can load: a second ``pipeline`` block, a
  stray ``}`` or an unclosed bracket around the pipeline is an error, not an epilogue.
  An editor made for Jenkins's JSON drops the key; so with ``original=``, an object that
  lacks it keeps what the original kept there, and only a key that is present (even
  ``{}``) replaces it.
- **Code kept as text round-trips exactly.** A ``scriptBlock`` is the source from the first
  to the last token of the block, as Jenkins stores it; it prints back with its first line
  at the block's indentation and the others exactly as stored, so
  JSON -> Jenkinsfile -> JSON returns the same string.
- **Single-argument steps.** Jenkins names the sole argument of a step that has one
  required parameter (``echo 'x'`` -> ``[{"key": "message", ...}]``) by asking its
  plugins; :mod:`._catalog` holds that fact for the common steps. JSON that uses the
  other (equally valid) form prints fine and reads back in Jenkins's form.
- **Hostile input fails fast**: at most 4 M characters, 64 nested blocks, 256 nested
  brackets, 32 nested ``${}``; unterminated strings, comments and blocks are reported at
  their start. Models nested deeper than 200 levels are refused.
- Known differences from Jenkins: environment values Jenkins refuses (``FOO = env.BAR``)
  are accepted as expressions; a string concatenation with interpolation in
  ``environment`` keeps its quotes (Jenkins drops them, producing text its own printer
  cannot read back); a statement may follow a ``}`` on the same line.
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
    """Parse a declarative Jenkinsfile into ``{"pipeline": {...}}``, Jenkins's JSON model.

    Raises :class:`ConversionError` (with line and column) for text that is not a valid
    declarative Jenkinsfile, :class:`ScriptedPipelineError` for a scripted pipeline.
    """
    return read_jenkinsfile(text)


def to_jenkinsfile(model: dict[str, Any], *, original: str | None = None) -> str:
    """Print a model as a Jenkinsfile.

    With ``original`` (the Jenkinsfile the model came from), everything the edit did not
    change is copied from it verbatim: comments, blank lines, quoting, unmodelled text.
    An ``original`` that does not parse is ignored. Raises :class:`ConversionError`
    (line and column 0) for a model it cannot print; :func:`validate` says why.
    """
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
