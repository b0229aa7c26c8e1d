"""The converter's errors.

Every failure is a :class:`ConversionError` that carries the 1-based line and column of the
place in the Jenkinsfile that caused it, so an editor can put the cursor there::

    ValueError
     └── ConversionError            the text is not a declarative Jenkinsfile we can read
          └── ScriptedPipelineError  the text is a scripted pipeline (no top-level pipeline block)

Errors about a JSON model (``to_jenkinsfile`` given a model it cannot print) are
``ConversionError`` with line and column 0: they have no place in a text.
"""

from __future__ import annotations


class ConversionError(ValueError):
    """A Jenkinsfile (or model) that cannot be converted; ``str()`` is ``line L, column C: ...``."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        self.message = message
        self.line = line
        self.column = column
        super().__init__(f"line {line}, column {column}: {message}")


class ScriptedPipelineError(ConversionError):
    """The Jenkinsfile is a scripted pipeline, which the declarative model cannot hold."""
