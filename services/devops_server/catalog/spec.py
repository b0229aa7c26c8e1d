"""A template's spec: what it is made of, how it is checked, and how it is rendered.

The published API takes a template as `spec`, "the parameter definitions and jenkinsfile in
yaml", and the console writes it in the format of DaoCloud Workbench's template files:

    parameterDefinitions:
      - name: gitURL            # ^[A-Za-z_][A-Za-z0-9_]*$, unique
        displayName: Git URL
        description: where the code is
        type: string            # string (default), text, boolean, choice, password,
        default: https://...    #   credential, target
      - name: goVersion
        type: choice
        default: ["1.22", "1.21"]   # a choice's default is its list of choices
    jenkinsfileTemplate: |
      pipeline { ... git url: '{{ .params.gitURL }}' ... }

A parameter without a default is required; a password parameter may not have one (other than
""), since a template is readable by everyone who may use it. The Jenkinsfile is a Go
text/template over `.params`; Workbench renders the subset that templates use, and refuses
anything else when the template is saved, so a saved template always renders:

- `{{ .params.NAME }}` prints the value;
- `{{ if C }} ... {{ else if C }} ... {{ else }} ... {{ end }}`, where C is `.params.NAME`
  (false when false or empty, as in Go), `not C`, or `eq A B` / `ne A B` over parameters and
  "quoted" literals;
- `{{/* comments */}}`, and the `{{-` / `-}}` markers that trim the white space beside them.

Values are printed as they are, as Go templates print them: Groovy quoting is the template
author's business. To keep a value from breaking out of its line, only `text` parameters may
hold line breaks, and no value may hold other control characters.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from libs.common.errors import InvalidArgument

MAX_SPEC_BYTES = 256 * 1024
MAX_VALUE_CHARS = 64 * 1024
MAX_PARAMETERS = 100

TYPES = ("string", "text", "boolean", "choice", "password", "credential", "target")
_PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_CREDENTIAL_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_DEFINITION_KEYS = {"name", "displayName", "description", "type", "default"}
_SPEC_KEYS = {"parameterDefinitions", "jenkinsfileTemplate"}


@dataclass(frozen=True)
class Parameter:
    name: str
    display_name: str
    description: str
    type: str
    # None: required. A boolean for `boolean`, the first choice for `choice`, else a string.
    default: str | bool | None
    choices: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "displayName": self.display_name,
            "description": self.description,
            "type": self.type,
            "default": self.default,
            "choices": list(self.choices),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Parameter:
        return cls(
            name=value["name"],
            display_name=value["displayName"],
            description=value["description"],
            type=value["type"],
            default=value["default"],
            choices=tuple(value["choices"]),
        )

    @property
    def default_text(self) -> str:
        """The default as the API's `defaultValue` shows it: choices one a line."""
        if self.type == "choice":
            return "\n".join(self.choices)
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        return self.default or ""


@dataclass(frozen=True)
class Spec:
    parameters: tuple[Parameter, ...]
    jenkinsfile: str


def parse(text: str) -> Spec:
    """The spec of a template; InvalidArgument naming the part that is wrong."""
    if not text.strip():
        raise InvalidArgument("spec: must not be empty")
    if len(text.encode()) > MAX_SPEC_BYTES:
        raise InvalidArgument(f"spec: must be at most {MAX_SPEC_BYTES} bytes")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        first = str(error).splitlines()[0] if str(error) else "syntax error"
        raise InvalidArgument(f"spec: not valid YAML: {first}") from None
    except RecursionError:
        raise InvalidArgument("spec: nested too deeply") from None
    if not isinstance(document, dict):
        raise InvalidArgument("spec: must be a YAML mapping with jenkinsfileTemplate")
    unknown = sorted(str(key) for key in document if key not in _SPEC_KEYS)
    if unknown:
        raise InvalidArgument(
            f"spec.{unknown[0]}: unknown key; a spec has parameterDefinitions and "
            "jenkinsfileTemplate"
        )

    jenkinsfile = document.get("jenkinsfileTemplate")
    if not isinstance(jenkinsfile, str) or not jenkinsfile.strip():
        raise InvalidArgument("spec.jenkinsfileTemplate: must be a non-empty string")
    if "\x00" in jenkinsfile:
        raise InvalidArgument("spec.jenkinsfileTemplate: must not contain NUL characters")

    definitions = document.get("parameterDefinitions") or []
    if not isinstance(definitions, list):
        raise InvalidArgument("spec.parameterDefinitions: must be a list")
    if len(definitions) > MAX_PARAMETERS:
        raise InvalidArgument(f"spec.parameterDefinitions: at most {MAX_PARAMETERS} parameters")
    parameters = tuple(_definition(i, d) for i, d in enumerate(definitions))
    seen: set[str] = set()
    for parameter in parameters:
        if parameter.name in seen:
            raise InvalidArgument(
                f"spec.parameterDefinitions: parameter {parameter.name!r} is defined twice"
            )
        seen.add(parameter.name)

    # Compiling proves the template only uses what render() supports and defined names.
    compile_template(jenkinsfile, seen)
    return Spec(parameters=parameters, jenkinsfile=jenkinsfile)


def _text(field: str, value: object, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field}: must be a string")
    if len(value) > limit or _CONTROL.search(value):
        raise InvalidArgument(
            f"{field}: must be at most {limit} characters, without control characters"
        )
    return value


def _definition(index: int, raw: object) -> Parameter:
    field = f"spec.parameterDefinitions[{index}]"
    if not isinstance(raw, dict):
        raise InvalidArgument(f"{field}: must be a mapping with a name")
    unknown = sorted(str(key) for key in raw if key not in _DEFINITION_KEYS)
    if unknown:
        raise InvalidArgument(f"{field}.{unknown[0]}: unknown key")
    name = raw.get("name")
    if not isinstance(name, str) or not _PARAMETER_NAME.fullmatch(name):
        raise InvalidArgument(
            f"{field}.name: must be a letter or '_' then letters, digits or '_' "
            "(at most 64 characters)"
        )
    field = f"spec.parameterDefinitions.{name}"
    kind = raw.get("type") or "string"
    if kind not in TYPES:
        raise InvalidArgument(f"{field}.type: must be one of {', '.join(TYPES)}")
    display = _text(f"{field}.displayName", raw.get("displayName"), 64)
    description = _text(f"{field}.description", raw.get("description"), 1024)

    default = raw.get("default")
    if kind == "choice":
        choices = _choices(f"{field}.default", default)
        return Parameter(name, display, description, kind, choices[0], choices)
    if default is None:
        return Parameter(name, display, description, kind, None)
    if kind == "password" and default != "":
        # A template is readable by everyone who may use it: it must not carry a secret.
        raise InvalidArgument(
            f"{field}.default: a password parameter takes no default; its value is given when "
            "the template is used"
        )
    return Parameter(name, display, description, kind, check_value(field, kind, (), default))


def _choices(field: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list) or not value:
        raise InvalidArgument(f"{field}: a choice parameter needs its list of choices")
    choices = tuple(
        str(c) if isinstance(c, int | float) and not isinstance(c, bool) else c for c in value
    )
    for choice in choices:
        if not isinstance(choice, str) or not choice or len(choice) > 1024:
            raise InvalidArgument(f"{field}: every choice must be a non-empty string")
        if _CONTROL.search(choice) or "\n" in choice:
            raise InvalidArgument(f"{field}: choices must not contain control characters")
    if len(set(choices)) != len(choices):
        raise InvalidArgument(f"{field}: choices must be distinct")
    return choices


def check_value(field: str, kind: str, choices: tuple[str, ...], value: object) -> str | bool:
    """One value for a parameter of `kind`, checked; InvalidArgument naming `field`."""
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise InvalidArgument(f"{field}: must be a boolean, true or false")
    if isinstance(value, int | float) and not isinstance(value, bool) and kind != "choice":
        value = str(value)
    if not isinstance(value, str):
        raise InvalidArgument(f"{field}: must be a string")
    if len(value) > MAX_VALUE_CHARS:
        raise InvalidArgument(f"{field}: must be at most {MAX_VALUE_CHARS} characters")
    if _CONTROL.search(value) or (kind != "text" and ("\n" in value or "\r" in value)):
        what = "control characters" if kind == "text" else "line breaks or control characters"
        raise InvalidArgument(f"{field}: must not contain {what}")
    if kind == "choice" and value not in choices:
        shown = ", ".join(repr(c) for c in choices[:10])
        raise InvalidArgument(f"{field}: {value[:80]!r} is not one of the choices ({shown})")
    if kind == "credential" and value and not _CREDENTIAL_NAME.fullmatch(value):
        raise InvalidArgument(f"{field}: {value[:80]!r} is not a credential name")
    return value


def values_for(parameters: tuple[Parameter, ...], given_json: str) -> dict[str, str | bool]:
    """Every parameter's value: the given one, checked, or its default."""
    given: object = {}
    if given_json.strip():
        try:
            given = json.loads(given_json)
        except json.JSONDecodeError:
            raise InvalidArgument("parameters: not valid JSON") from None
    if not isinstance(given, dict):
        raise InvalidArgument('parameters: must be a JSON object {"name": value}')

    by_name = {p.name: p for p in parameters}
    for name in given:
        if name not in by_name:
            raise InvalidArgument(
                f"parameters.{str(name)[:64]}: the template defines no such parameter"
            )

    values: dict[str, str | bool] = {}
    for parameter in parameters:
        field = f"parameters.{parameter.name}"
        if parameter.name in given:
            values[parameter.name] = check_value(
                field, parameter.type, parameter.choices, given[parameter.name]
            )
        elif parameter.default is None:
            raise InvalidArgument(f"{field}: required, the template gives it no default")
        else:
            values[parameter.name] = parameter.default
    return values


# The template language: a token stream of text and actions, parsed into a small tree.

_TERM = re.compile(r'\.params\.([A-Za-z_][A-Za-z0-9_]*)|"((?:[^"\\]|\\.)*)"|(true|false)')


@dataclass(frozen=True)
class _Text:
    text: str


@dataclass(frozen=True)
class _Print:
    name: str


@dataclass(frozen=True)
class _If:
    # (condition, body) pairs, tried in order; a None condition is the `else`.
    branches: tuple[tuple[tuple[str, ...] | None, tuple[Any, ...]], ...]


def _line(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


def _tokens(source: str) -> list[tuple[str, str, int]]:
    """("text", text, offset) and ("action", body, offset), with trim markers applied.

    A plain scan for the delimiters, so the work stays linear in the size of the template
    whatever it holds.
    """
    tokens: list[tuple[str, str, int]] = []
    position = 0
    trim_next = False
    while (start := source.find("{{", position)) >= 0:
        end = source.find("}}", start + 2)
        if end < 0:
            raise InvalidArgument(
                f"spec.jenkinsfileTemplate: line {_line(source, start)}: an action opened with "
                "'{{' never closes"
            )
        body = source[start + 2 : end]
        trim_before = len(body) > 1 and body[0] == "-" and body[1].isspace()
        trim_after = len(body) > 1 and body[-1] == "-" and body[-2].isspace()
        text = source[position:start]
        if trim_next:
            text = text.lstrip()
        if trim_before:
            text = text.rstrip()
        tokens.append(("text", text, position))
        inner = body[1 if trim_before else 0 : len(body) - 1 if trim_after else len(body)]
        tokens.append(("action", inner.strip(), start))
        trim_next = trim_after
        position = end + 2
    tail = source[position:]
    tokens.append(("text", tail.lstrip() if trim_next else tail, position))
    return tokens


def _condition(body: str, defined: set[str], where: str) -> tuple[str, ...]:
    words = body.split(None, 1)
    if not words:
        raise InvalidArgument(f"spec.jenkinsfileTemplate: {where}: empty condition")
    operator = words[0] if words[0] in ("not", "eq", "ne") else ""
    rest = words[1] if operator and len(words) > 1 else ("" if operator else body)
    terms: list[str] = []
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _TERM.match(rest, position)
        if match is None:
            raise InvalidArgument(
                f"spec.jenkinsfileTemplate: {where}: {rest[position:][:40]!r} is not supported; "
                'use .params.NAME, "text", true or false'
            )
        terms.append(_term(match, defined, where))
        position = match.end()
        while position < len(rest) and rest[position] == " ":
            position += 1
    wanted = 2 if operator in ("eq", "ne") else 1
    if len(terms) != wanted:
        raise InvalidArgument(
            f"spec.jenkinsfileTemplate: {where}: {operator or 'a condition'} takes {wanted} "
            f"operand{'s' if wanted > 1 else ''}"
        )
    return (operator, *terms)


def _term(match: re.Match[str], defined: set[str], where: str) -> str:
    if match.group(1) is not None:
        if match.group(1) not in defined:
            raise InvalidArgument(
                f"spec.jenkinsfileTemplate: {where}: .params.{match.group(1)} is not defined "
                "in parameterDefinitions"
            )
        return "$" + match.group(1)
    if match.group(2) is not None:
        try:
            return "=" + str(json.loads(f'"{match.group(2)}"'))
        except json.JSONDecodeError:
            raise InvalidArgument(
                f"spec.jenkinsfileTemplate: {where}: bad escape in {match.group(0)[:40]}"
            ) from None
    return "=" + match.group(3)


def compile_template(source: str, defined: set[str]) -> tuple[Any, ...]:
    """The parsed template; InvalidArgument on what render() does not support."""
    tokens = _tokens(source)
    # Each frame: the branches of an open `if` and the body being filled.
    stack: list[tuple[list[Any], list[Any], int]] = []
    body: list[Any] = []
    for kind, text, offset in tokens:
        if kind == "text":
            if text:
                body.append(_Text(text))
            continue
        where = f"line {_line(source, offset)}"
        if text.startswith("/*") and text.endswith("*/"):
            continue
        words = text.split(None, 1)
        head = words[0] if words else ""
        if head == "if":
            stack.append(([(_condition(text[2:], defined, where), None)], body, offset))
            body = []
        elif head == "else":
            if not stack or stack[-1][0][-1][0] is None:
                raise InvalidArgument(f"spec.jenkinsfileTemplate: {where}: else without if")
            branches = stack[-1][0]
            branches[-1] = (branches[-1][0], tuple(body))
            rest = text[4:].strip()
            if rest.startswith("if ") or rest == "if":
                branches.append((_condition(rest[2:], defined, where), None))
            elif rest:
                raise InvalidArgument(f"spec.jenkinsfileTemplate: {where}: unexpected {rest!r}")
            else:
                branches.append((None, None))
            body = []
        elif head == "end" and text == "end":
            if not stack:
                raise InvalidArgument(f"spec.jenkinsfileTemplate: {where}: end without if")
            branches, outer, _ = stack.pop()
            branches[-1] = (branches[-1][0], tuple(body))
            outer.append(_If(tuple(branches)))
            body = outer
        else:
            match = re.fullmatch(r"\.params\.([A-Za-z_][A-Za-z0-9_]*)", text)
            if match is None:
                raise InvalidArgument(
                    f"spec.jenkinsfileTemplate: {where}: {{{{ {text[:40]} }}}} is not supported; "
                    "use {{ .params.NAME }}, if / else / end, eq, ne and not"
                )
            if match.group(1) not in defined:
                raise InvalidArgument(
                    f"spec.jenkinsfileTemplate: {where}: .params.{match.group(1)} is not "
                    "defined in parameterDefinitions"
                )
            body.append(_Print(match.group(1)))
    if stack:
        where = f"line {_line(source, stack[-1][2])}"
        raise InvalidArgument(f"spec.jenkinsfileTemplate: {where}: if without end")
    return tuple(body)


def _show(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _resolve(term: str, values: dict[str, str | bool]) -> str | bool:
    return values[term[1:]] if term.startswith("$") else term[1:]


def _holds(condition: tuple[str, ...], values: dict[str, str | bool]) -> bool:
    operator, *terms = condition
    resolved = [_resolve(t, values) for t in terms]
    if operator == "eq":
        return _show(resolved[0]) == _show(resolved[1])
    if operator == "ne":
        return _show(resolved[0]) != _show(resolved[1])
    truth = resolved[0] not in (False, "", "false") if terms[0][0] == "=" else bool(resolved[0])
    return not truth if operator == "not" else truth


def _emit(nodes: tuple[Any, ...], values: dict[str, str | bool], out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Print):
            out.append(_show(values[node.name]))
        else:
            for condition, body in node.branches:
                if condition is None or _holds(condition, values):
                    _emit(body, values, out)
                    break


def render(spec: Spec, given_json: str) -> str:
    """The Jenkinsfile of `spec` with the given values (a JSON object) and the defaults."""
    values = values_for(spec.parameters, given_json)
    tree = compile_template(spec.jenkinsfile, {p.name for p in spec.parameters})
    out: list[str] = []
    _emit(tree, values, out)
    return "".join(out)
