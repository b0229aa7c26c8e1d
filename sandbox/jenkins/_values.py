"""Values of the declarative model: literals, Groovy strings, `when` conditions, shell words.

The pipeline JSON model keeps every argument as `{"isLiteral": bool, "value": ...}`; a
non-literal value is Groovy source (`"\\"Hello $NAME\\""`, `params.DEPLOY`, `env.BRANCH`).
The stand-in does not run Groovy. It recognises the handful of expression shapes a declarative
Jenkinsfile writes in practice and treats anything else as opaque text:

- quoted strings, with `$NAME`, `${NAME}`, `${env.NAME}`, `${params.NAME}` interpolated in
  double-quoted (GString) forms only, as Groovy does;
- `env.NAME`, `params.NAME`, a bare `NAME`, `true`, `false`, `null`, numbers;
- in `when { expression { ... } }`: an optional `return`, `!`, `==`, `!=`, `&&`, `||` over
  those terms. An expression outside this grammar counts as true (and is logged), so a stage
  is not silently skipped.

The same lookups serve `sh`: `$NAME` and `${NAME}` are expanded from the build environment
before a line is traced and interpreted (see `_steps.py` for the `sh` convention).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger(__name__)

_INTERPOLATION = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_.]*)")
_CALL = re.compile(r"(\w+)\s*\(([^()]*)\)")
_NAMED_ARG = re.compile(r"(\w+)\s*:\s*(?:'([^']*)'|\"([^\"]*)\"|([\w.]+))")


class Scope:
    """What a Groovy expression can see: the environment and the build parameters."""

    def __init__(self, env: Mapping[str, str], params: Mapping[str, Any]) -> None:
        self.env = env
        self.params = params

    def lookup(self, name: str) -> Any:
        name = name.strip()
        if name.startswith("env."):
            return self.env.get(name[4:])
        if name.startswith("params."):
            return self.params.get(name[7:])
        if name in self.env:
            return self.env[name]
        if name in self.params:
            return self.params[name]
        return None

    def interpolate(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            value = self.lookup(match.group(1) or match.group(2))
            if value is None:
                return "null" if match.group(1) else match.group(0)
            return stringify(value)

        return _INTERPOLATION.sub(replace, text)

    def expand_shell(self, text: str) -> str:
        """Shell parameter expansion of `$NAME` / `${NAME}` (unset names expand to nothing)."""

        def replace(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            return stringify(self.env.get(name, ""))

        return _INTERPOLATION.sub(replace, text)


def stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def evaluate(value: Any, scope: Scope) -> Any:
    """The Python value of a model value (`{"isLiteral", "value"}`) or of a raw JSON value."""
    if isinstance(value, dict) and "isLiteral" in value:
        if value["isLiteral"]:
            return value["value"]
        return evaluate_expression(str(value["value"]), scope)
    return value


def evaluate_expression(text: str, scope: Scope) -> Any:
    """A Groovy expression of the small grammar this module accepts."""
    text = text.strip()
    for quote in ('"""', "'''", '"', "'"):
        if len(text) >= 2 * len(quote) and text.startswith(quote) and text.endswith(quote):
            body = _unescape(text[len(quote) : -len(quote)])
            return scope.interpolate(body) if quote.startswith('"') else body
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    if re.fullmatch(r"[A-Za-z_][\w.]*", text):
        found = scope.lookup(text)
        return text if found is None and "." not in text else found
    return text


def _unescape(text: str) -> str:
    return text.replace('\\"', '"').replace("\\'", "'").replace("\\$", "$").replace("\\\\", "\\")


def truthy(value: Any) -> bool:
    """Groovy truth."""
    if isinstance(value, str):
        return value != ""
    return bool(value)


def evaluate_condition(source: str, scope: Scope) -> bool:
    """A `when { expression { ... } }` body: the small boolean grammar, else true."""
    lines = [line.strip() for line in source.strip().splitlines() if line.strip()]
    text = lines[-1] if lines else "true"
    text = text.removeprefix("return ").strip()
    try:
        return _or(text, scope)
    except ValueError:
        logger.warning("when expression not understood, counted as true: %s", text)
        return True


def _or(text: str, scope: Scope) -> bool:
    return any(_and(part, scope) for part in text.split("||"))


def _and(text: str, scope: Scope) -> bool:
    return all(_comparison(part, scope) for part in text.split("&&"))


def _comparison(text: str, scope: Scope) -> bool:
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    for operator in ("==", "!="):
        if operator in text:
            left, right = text.split(operator, 1)
            equal = _term(left, scope) == _term(right, scope)
            return equal if operator == "==" else not equal
    if text.startswith("!"):
        return not _comparison(text[1:], scope)
    return truthy(_term(text, scope))


def _term(text: str, scope: Scope) -> Any:
    text = text.strip()
    if not re.fullmatch(r"""(['"]).*\1|[\w.]+|-?\d+(\.\d+)?""", text):
        raise ValueError(text)
    value = evaluate_expression(text, scope)
    if isinstance(value, str) and value == text and text[:1] not in "'\"":
        value = scope.lookup(text)
    return stringify(value) if isinstance(value, bool) and text[:1] in "'\"" else value


def parse_calls(text: str) -> list[tuple[str, dict[str, str]]]:
    """`[string(credentialsId: 'x', variable: 'T'), ...]` -> [("string", {...}), ...]."""
    calls = []
    for match in _CALL.finditer(text):
        arguments = {
            named.group(1): named.group(2) or named.group(3) or named.group(4) or ""
            for named in _NAMED_ARG.finditer(match.group(2))
        }
        calls.append((match.group(1), arguments))
    return calls


def string_list(text: str) -> list[str]:
    """`['A=1', "B=2"]` -> ["A=1", "B=2"]."""
    return [a or b for a, b in re.findall(r"'([^']*)'|\"([^\"]*)\"", text)]
