"""Checks a JSON model against the declarative pipeline model.

The checks follow Jenkins's ``ast-schema.json`` and the structural rules of its validator
that need no Jenkins to answer: unknown sections and keys, values that are not
``{isLiteral, value}``, argument lists that mix shapes, empty sections, a stage holding
both ``steps`` and ``parallel`` (or any two of steps, stages, parallel, matrix), duplicate
stage names, unknown ``post`` and ``when`` conditions, ``parallel`` or ``matrix`` inside
another ``parallel`` or ``matrix``, parameters that a when condition or an agent cannot go
without. Which steps, options or agent types exist depends on the plugins of a Jenkins,
so those names are not checked.

Text that is printed as Groovy is checked with the converter's own lexer and parser, so a
model that validates prints a Jenkinsfile that reads back: an expression
(``isLiteral: false``) must be exactly one Groovy expression, and the code of a ``script``
or ``expression`` block must lex and balance its brackets (else it would close its block
early and run outside it). Literal numbers must fit Jenkins's 64-bit long; NaN and the
infinities have no Groovy literal.

Each problem has a ``path`` in the JSON (``pipeline.stages[1].branches[0].steps[3]``) and a
message meant for the person editing the pipeline. Sections kept as text under
``"x-workbench"`` are reported too: Jenkins rejects a section it does not know.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from libs.jenkinsfile import _catalog as catalog
from libs.jenkinsfile._errors import ConversionError
from libs.jenkinsfile._lexer import Kind, Source, check_brackets, tokenize
from libs.jenkinsfile._parser import Parser
from libs.jenkinsfile._reader import EXTENSION, LONG_MAX, LONG_MIN
from libs.jenkinsfile._writer import MAX_MODEL_DEPTH, model_too_deep

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a model: where (a path in the JSON) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class _Validator:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def report(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def keys(self, node: dict[str, Any], path: str, allowed: tuple[str, ...], what: str) -> None:
        for key in node:
            if key not in allowed and key != EXTENSION:
                self.report(f"{path}.{key}", f"unknown {what} '{key}'")

    def extension(self, node: dict[str, Any], path: str) -> None:
        extension = node.get(EXTENSION)
        if extension is None:
            return
        if not isinstance(extension, dict):
            self.report(f"{path}.{EXTENSION}", "must be an object")
            return
        for index, text in enumerate(extension.get("sections", [])):
            first = str(text).split("\n", 1)[0].strip()
            self.report(
                f"{path}.{EXTENSION}.sections[{index}]",
                f"section '{first}' is not part of the declarative model; Jenkins will reject it",
            )

    # -- values ---------------------------------------------------------------------

    def value(self, node: Any, path: str, *, arguments: bool = False) -> None:
        """A ``{isLiteral, value}``; ``arguments``: an expression may be ``a: 1, b: 2``."""
        if not isinstance(node, dict) or set(node) != {"isLiteral", "value"}:
            self.report(path, 'expected a value {"isLiteral": ..., "value": ...}')
            return
        literal, value = node["isLiteral"], node["value"]
        if not isinstance(literal, bool):
            self.report(f"{path}.isLiteral", "must be true or false")
        elif not literal and not isinstance(value, str):
            self.report(f"{path}.value", "an expression (isLiteral false) must be a string")
        elif not literal:
            problem = expression_problem(value, arguments=arguments)
            if problem:
                self.report(f"{path}.value", problem)
        elif value is not None and not isinstance(value, str | int | float | bool):
            self.report(f"{path}.value", "must be a string, number, boolean or null")
        elif isinstance(value, int) and not isinstance(value, bool):
            if not LONG_MIN <= value <= LONG_MAX:
                self.report(f"{path}.value", "the number does not fit Jenkins's 64-bit long")
        elif isinstance(value, float) and not math.isfinite(value):
            self.report(f"{path}.value", "NaN and infinity cannot be written in a Jenkinsfile")

    def name(self, name: str, path: str, what: str) -> None:
        """A name printed bare (a step, a method call, a tool, an agent option)."""
        if not _IDENTIFIER.match(name):
            self.report(path, f"'{name}' is not a valid {what} name")

    def code(self, node: Any, path: str) -> None:
        """The ``scriptBlock`` argument of a script step or an expression condition."""
        ok = (
            isinstance(node, list)
            and len(node) == 1
            and isinstance(node[0], dict)
            and node[0].get("key") == "scriptBlock"
        )
        if not ok:
            self.report(path, "needs one 'scriptBlock' argument")
            return
        value = node[0].get("value")
        if not isinstance(value, dict) or value.get("isLiteral") is not True:
            self.report(f"{path}[0].value", "the scriptBlock is a literal string of Groovy code")
        elif not isinstance(value.get("value"), str):
            self.report(f"{path}[0].value.value", "the scriptBlock must be a string")
        else:
            problem = code_problem(value["value"])
            if problem:
                self.report(f"{path}[0].value.value", problem)

    def arguments(self, node: Any, path: str) -> None:
        """A step's or condition's arguments: one value, named pairs, or positional values."""
        if isinstance(node, dict):
            self.value(node, path, arguments=True)
            return
        if not isinstance(node, list):
            self.report(path, "arguments must be a value or a list")
            return
        named = [isinstance(item, dict) and "key" in item for item in node]
        if any(named) and not all(named):
            self.report(path, "arguments mix named and positional values")
            return
        for index, item in enumerate(node):
            item_path = f"{path}[{index}]"
            if named[index]:
                if set(item) != {"key", "value"} or not isinstance(item["key"], str):
                    self.report(item_path, 'a named argument is {"key": ..., "value": ...}')
                else:
                    self.value(item["value"], f"{item_path}.value")
            else:
                self.value(item, item_path)

    def method_call(self, node: Any, path: str) -> None:
        if not isinstance(node, dict) or not isinstance(node.get("name"), str):
            self.report(path, 'expected {"name": ..., "arguments": [...]}')
            return
        self.keys(node, path, ("name", "arguments"), "key")
        self.name(node["name"], f"{path}.name", "method")
        arguments = node.get("arguments", [])
        if not isinstance(arguments, list):
            self.report(f"{path}.arguments", "must be a list")
            return
        for index, arg in enumerate(arguments):
            arg_path = f"{path}.arguments[{index}]"
            if isinstance(arg, dict) and "key" in arg:
                inner = arg.get("value")
                if isinstance(inner, dict) and "name" in inner:
                    self.method_call(inner, f"{arg_path}.value")
                else:
                    self.value(inner, f"{arg_path}.value")
            elif isinstance(arg, dict) and "name" in arg:
                self.method_call(arg, arg_path)
            else:
                self.value(arg, arg_path)

    def method_calls(self, node: Any, path: str, name: str) -> None:
        if not isinstance(node, dict) or not isinstance(node.get(name), list):
            self.report(path, f'expected {{"{name}": [...]}}')
            return
        self.keys(node, path, (name,), "key")
        if not node[name]:
            self.report(f"{path}.{name}", f"'{name}' is empty")
        for index, call in enumerate(node[name]):
            self.method_call(call, f"{path}.{name}[{index}]")

    # -- pipeline -------------------------------------------------------------------

    def model(self, model: Any) -> None:
        if not isinstance(model, dict) or not isinstance(model.get("pipeline"), dict):
            self.report("", 'the model must be {"pipeline": {...}}')
            return
        for key in model:
            if key != "pipeline":
                self.report(key, f"unknown key '{key}' beside 'pipeline'")
        pipeline = model["pipeline"]
        path = "pipeline"
        self.keys(pipeline, path, catalog.PIPELINE_SECTIONS, "section")
        self.extension(pipeline, path)
        if "agent" not in pipeline:
            self.report(path, "the pipeline needs an 'agent' section")
        if "stages" not in pipeline:
            self.report(path, "the pipeline needs a 'stages' section")
        for name in catalog.PIPELINE_SECTIONS:
            if name in pipeline:
                self.section(name, pipeline[name], f"{path}.{name}")
        self.duplicate_names(pipeline.get("stages"), "pipeline.stages")

    def section(self, name: str, node: Any, path: str) -> None:
        if name == "stages":
            self.stages(node, path)
        elif name == "agent":
            self.agent(node, path)
        elif name == "environment":
            self.environment(node, path)
        elif name == "tools":
            self.pairs(node, path, "tools")
        elif name in ("options", "parameters", "triggers"):
            self.method_calls(node, path, name)
        elif name == "libraries":
            if not isinstance(node, dict) or not isinstance(node.get("libraries"), list):
                self.report(path, 'expected {"libraries": [...]}')
            else:
                for index, library in enumerate(node["libraries"]):
                    self.value(library, f"{path}.libraries[{index}]")
        elif name == "post":
            self.post(node, path)
        elif name == "when":
            self.when(node, path)
        elif name == "input":
            self.input(node, path)
        elif name == "failFast" and not isinstance(node, bool):
            self.report(path, "failFast must be true or false")

    def agent(self, node: Any, path: str) -> None:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            self.report(path, "an agent needs a 'type' such as any, none, label or docker")
            return
        self.keys(node, path, ("type", "argument", "arguments"), "key")
        if "argument" in node and "arguments" in node:
            self.report(path, "an agent has 'argument' or 'arguments', not both")
        if "argument" in node:
            self.value(node["argument"], f"{path}.argument")
        if "arguments" in node:
            self.closure_map(node["arguments"], f"{path}.arguments")
        if node["type"] in catalog.BARE_AGENTS and ("argument" in node or "arguments" in node):
            self.report(path, f"agent '{node['type']}' takes no arguments")
        required = catalog.AGENT_REQUIRED.get(node["type"])
        if (
            required
            and "argument" not in node
            and required not in catalog.keys_of(node.get("arguments"))
        ):
            self.report(path, f"agent '{node['type']}' needs its {required}")

    def closure_map(self, node: Any, path: str) -> None:
        if not isinstance(node, list):
            self.report(path, 'must be a list of {"key": ..., "value": ...}')
            return
        for index, entry in enumerate(node):
            entry_path = f"{path}[{index}]"
            if not isinstance(entry, dict) or set(entry) != {"key", "value"}:
                self.report(entry_path, 'expected {"key": ..., "value": ...}')
                continue
            if isinstance(entry["key"], str):
                self.name(entry["key"], f"{entry_path}.key", "option")
            else:
                self.report(f"{entry_path}.key", "must be a string")
            if isinstance(entry["value"], list):
                self.closure_map(entry["value"], f"{entry_path}.value")
            else:
                self.value(entry["value"], f"{entry_path}.value")

    def environment(self, node: Any, path: str) -> None:
        if not isinstance(node, list) or not node:
            self.report(path, "environment must be a non-empty list of {key, value}")
            return
        seen: set[str] = set()
        for index, entry in enumerate(node):
            entry_path = f"{path}[{index}]"
            if not isinstance(entry, dict) or set(entry) != {"key", "value"}:
                self.report(entry_path, 'expected {"key": ..., "value": ...}')
                continue
            key = entry["key"]
            if not isinstance(key, str) or not _IDENTIFIER.match(key):
                self.report(f"{entry_path}.key", f"'{key}' is not a valid variable name")
            elif key in seen:
                self.report(f"{entry_path}.key", f"environment variable '{key}' is set twice")
            else:
                seen.add(key)
            value = entry["value"]
            if isinstance(value, dict) and "name" in value:
                if value["name"] != "credentials":
                    self.report(f"{entry_path}.value", "the only function here is credentials()")
                arguments = value.get("arguments")
                if not isinstance(arguments, list) or len(arguments) != 1:
                    self.report(f"{entry_path}.value.arguments", "credentials() takes one id")
                    arguments = []
                for arg_index, arg in enumerate(arguments):
                    self.value(arg, f"{entry_path}.value.arguments[{arg_index}]")
            else:
                self.value(value, f"{entry_path}.value")

    def pairs(self, node: Any, path: str, what: str) -> None:
        if not isinstance(node, list) or not node:
            self.report(path, f"{what} must be a non-empty list of {{key, value}}")
            return
        for index, entry in enumerate(node):
            if not isinstance(entry, dict) or set(entry) != {"key", "value"}:
                self.report(f"{path}[{index}]", 'expected {"key": ..., "value": ...}')
                continue
            if isinstance(entry["key"], str):
                self.name(entry["key"], f"{path}[{index}].key", "tool")
            else:
                self.report(f"{path}[{index}].key", "must be a string")
            self.value(entry["value"], f"{path}[{index}].value")

    # -- stages ---------------------------------------------------------------------

    def stages(self, node: Any, path: str, *, in_parallel: bool = False) -> None:
        """A list of stages; ``in_parallel``: below a parallel or a matrix."""
        if not isinstance(node, list) or not node:
            self.report(path, "'stages' must hold at least one stage")
            return
        for index, stage in enumerate(node):
            self.stage(stage, f"{path}[{index}]", in_parallel=in_parallel)

    def stage(self, node: Any, path: str, *, in_parallel: bool) -> None:
        if not isinstance(node, dict):
            self.report(path, "a stage must be an object")
            return
        name = node.get("name")
        if not isinstance(name, str) or not name:
            self.report(path, "a stage needs a non-empty 'name'")
        allowed = (
            "name", "agent", "when", "post", "tools", "environment", "options", "input",
            "branches", "parallel", "stages", "matrix", "failFast",
        )  # fmt: skip
        self.keys(node, path, allowed, "stage section")
        self.extension(node, path)
        kinds = [k for k in ("branches", "parallel", "stages", "matrix") if k in node]
        shown = ["steps" if kind == "branches" else kind for kind in kinds]
        if not kinds:
            self.report(
                path, f"stage '{name}' has nothing to run: add steps, stages, parallel or matrix"
            )
        elif len(kinds) > 1:
            self.report(path, f"stage '{name}' has both {shown[0]} and {shown[1]}: keep only one")
        for kind in ("parallel", "matrix"):
            if in_parallel and kind in node:
                self.report(
                    f"{path}.{kind}",
                    f"stage '{name}' is inside a parallel or matrix, so it cannot hold a {kind}",
                )
        for section in ("agent", "when", "post", "tools", "environment", "options",
                        "input", "failFast"):  # fmt: skip
            if section in node:
                self.section(section, node[section], f"{path}.{section}")
        if "branches" in node:
            self.branches(node["branches"], f"{path}.branches")
        if "parallel" in node:
            self.stages(node["parallel"], f"{path}.parallel", in_parallel=True)
        if "stages" in node:
            self.stages(node["stages"], f"{path}.stages", in_parallel=in_parallel)
        if "matrix" in node:
            self.matrix(node["matrix"], f"{path}.matrix")

    def duplicate_names(self, stages: Any, path: str) -> None:
        """Stage names must be unique across the pipeline (a matrix is its own scope)."""
        seen: dict[str, str] = {}

        def walk(items: Any, items_path: str) -> None:
            if not isinstance(items, list):
                return
            for index, stage in enumerate(items):
                if not isinstance(stage, dict):
                    continue
                stage_path = f"{items_path}[{index}]"
                name = stage.get("name")
                if isinstance(name, str):
                    if name in seen:
                        self.report(
                            stage_path, f"duplicate stage name '{name}' (also at {seen[name]})"
                        )
                    else:
                        seen[name] = stage_path
                walk(stage.get("parallel"), f"{stage_path}.parallel")
                walk(stage.get("stages"), f"{stage_path}.stages")
                matrix = stage.get("matrix")
                if isinstance(matrix, dict):
                    self.duplicate_names(matrix.get("stages"), f"{stage_path}.matrix.stages")

        walk(stages, path)

    def branches(self, node: Any, path: str) -> None:
        if not isinstance(node, list) or not node:
            self.report(path, "'branches' must hold at least one branch")
            return
        names: set[str] = set()
        for index, branch in enumerate(node):
            branch_path = f"{path}[{index}]"
            if not isinstance(branch, dict) or not isinstance(branch.get("name"), str):
                self.report(branch_path, "a branch needs a 'name' and 'steps'")
                continue
            self.keys(branch, branch_path, ("name", "steps"), "key")
            if branch["name"] in names:
                self.report(branch_path, f"duplicate parallel branch '{branch['name']}'")
            names.add(branch["name"])
            self.steps(branch.get("steps"), f"{branch_path}.steps")

    def steps(self, node: Any, path: str) -> None:
        if not isinstance(node, list) or not node:
            self.report(path, "a block of steps must hold at least one step")
            return
        for index, step in enumerate(node):
            self.step(step, f"{path}[{index}]")

    def step(self, node: Any, path: str) -> None:
        if not isinstance(node, dict) or not isinstance(node.get("name"), str):
            self.report(path, "a step needs a 'name'")
            return
        self.keys(node, path, ("name", "arguments", "children"), "key")
        self.name(node["name"], f"{path}.name", "step")
        if "arguments" not in node:
            self.report(path, "a step needs 'arguments' (an empty list for none)")
        elif node["name"] in catalog.CODE_BLOCK_STEPS:
            self.code(node["arguments"], f"{path}.arguments")
        else:
            self.arguments(node["arguments"], f"{path}.arguments")
        if "children" in node:
            self.steps(node["children"], f"{path}.children")

    def post(self, node: Any, path: str) -> None:
        if not isinstance(node, dict) or not isinstance(node.get("conditions"), list):
            self.report(path, 'expected {"conditions": [...]}')
            return
        self.keys(node, path, ("conditions",), "key")
        if not node["conditions"]:
            self.report(f"{path}.conditions", "'post' is empty")
        seen: set[str] = set()
        for index, condition in enumerate(node["conditions"]):
            condition_path = f"{path}.conditions[{index}]"
            if not isinstance(condition, dict):
                self.report(condition_path, 'expected {"condition": ..., "branch": ...}')
                continue
            self.keys(condition, condition_path, ("condition", "branch"), "key")
            name = condition.get("condition")
            if name not in catalog.POST_CONDITIONS:
                self.report(
                    f"{condition_path}.condition",
                    f"unknown post condition '{name}'; one of: "
                    + ", ".join(catalog.POST_CONDITIONS),
                )
            elif name in seen:
                self.report(f"{condition_path}.condition", f"post condition '{name}' repeats")
            seen.add(str(name))
            branch = condition.get("branch")
            if not isinstance(branch, dict):
                self.report(f"{condition_path}.branch", "expected a branch with steps")
            else:
                self.steps(branch.get("steps"), f"{condition_path}.branch.steps")

    def when(self, node: Any, path: str) -> None:
        if not isinstance(node, dict) or not isinstance(node.get("conditions"), list):
            self.report(path, 'expected {"conditions": [...]}')
            return
        self.keys(node, path, ("conditions", *catalog.WHEN_FLAGS), "key")
        for flag in catalog.WHEN_FLAGS:
            if flag in node and not isinstance(node[flag], bool):
                self.report(f"{path}.{flag}", f"{flag} must be true or false")
        if not node["conditions"]:
            self.report(f"{path}.conditions", "'when' needs at least one condition")
        for index, condition in enumerate(node["conditions"]):
            self.when_condition(condition, f"{path}.conditions[{index}]")

    def when_condition(self, node: Any, path: str) -> None:
        if not isinstance(node, dict) or not isinstance(node.get("name"), str):
            self.report(path, "a condition needs a 'name'")
            return
        self.keys(node, path, ("name", "arguments", "children"), "key")
        name = node["name"]
        if name not in catalog.WHEN_CONDITIONS:
            self.report(
                f"{path}.name",
                f"unknown when condition '{name}'; one of: " + ", ".join(catalog.WHEN_CONDITIONS),
            )
            return
        if name == "expression":
            self.code(node.get("arguments"), f"{path}.arguments")
            return
        missing = catalog.missing_when_parameters(name, node.get("arguments"))
        if missing:
            self.report(path, f"when condition '{name}' needs " + " and ".join(missing))
        if name in catalog.WHEN_NESTING:
            children = node.get("children")
            if not isinstance(children, list) or not children:
                self.report(path, f"'{name}' needs at least one nested condition")
                return
            if name == "not" and len(children) != 1:
                self.report(path, "'not' takes exactly one condition")
            for index, child in enumerate(children):
                self.when_condition(child, f"{path}.children[{index}]")
        elif "children" in node:
            self.report(path, f"condition '{name}' cannot nest conditions")
        if "arguments" in node:
            self.arguments(node["arguments"], f"{path}.arguments")

    def input(self, node: Any, path: str) -> None:
        if not isinstance(node, dict):
            self.report(path, "input must be an object")
            return
        self.keys(node, path, catalog.INPUT_FIELDS, "input field")
        if "message" not in node:
            self.report(path, "input needs a 'message'")
        for field in catalog.INPUT_FIELDS:
            if field in node and field != "parameters":
                self.value(node[field], f"{path}.{field}")
        if "parameters" in node:
            self.method_calls(node["parameters"], f"{path}.parameters", "parameters")

    def matrix(self, node: Any, path: str) -> None:
        if not isinstance(node, dict):
            self.report(path, "matrix must be an object")
            return
        self.keys(node, path, catalog.MATRIX_SECTIONS, "matrix section")
        self.extension(node, path)
        axes = node.get("axes")
        if not isinstance(axes, list) or not axes:
            self.report(path, "a matrix needs at least one axis")
            axes = []
        names: set[str] = set()
        for index, axis in enumerate(axes):
            self.axis(axis, f"{path}.axes[{index}]", exclude=False)
            if isinstance(axis, dict) and axis.get("name") in names:
                self.report(f"{path}.axes[{index}]", f"axis '{axis.get('name')}' repeats")
            if isinstance(axis, dict) and isinstance(axis.get("name"), str):
                names.add(axis["name"])
        for index, exclude in enumerate(node.get("excludes", [])):
            if not isinstance(exclude, list) or not exclude:
                self.report(f"{path}.excludes[{index}]", "an exclude holds at least one axis")
                continue
            for axis_index, axis in enumerate(exclude):
                self.axis(axis, f"{path}.excludes[{index}][{axis_index}]", exclude=True)
        if "stages" not in node:
            self.report(path, "a matrix needs 'stages'")
        else:
            self.stages(node["stages"], f"{path}.stages", in_parallel=True)
        for section in ("agent", "when", "post", "tools", "environment", "options", "input"):
            if section in node:
                self.section(section, node[section], f"{path}.{section}")

    def axis(self, node: Any, path: str, *, exclude: bool) -> None:
        allowed = ("name", "values", "inverse") if exclude else ("name", "values")
        if not isinstance(node, dict) or not isinstance(node.get("name"), str):
            self.report(path, "an axis needs a 'name' and 'values'")
            return
        self.keys(node, path, allowed, "axis key")
        values = node.get("values")
        if not isinstance(values, list) or not values:
            self.report(f"{path}.values", "an axis needs at least one value")
            return
        for index, value in enumerate(values):
            self.value(value, f"{path}.values[{index}]")


def expression_problem(text: str, *, arguments: bool = False) -> str | None:
    """Why ``text`` (an ``isLiteral: false`` value) would not print as one expression."""
    inner = text[2:-1] if text.startswith("${") and text.endswith("}") else text
    # As a step's only argument, an expression may be a named list: `$class: 'X', a: 1`.
    wrapped = f"f({inner})" if arguments else inner
    source = Source(wrapped)
    try:
        tokens = tokenize(source)
        check_brackets(source, tokens)
        parser = Parser(source, tokens)
        parser.skip_newlines()
        parser.parse_expression()
        parser.skip_newlines()
        if parser.token.kind is not Kind.EOF:
            raise parser.error(f"{parser.describe(parser.token)} follows the expression")
    except ConversionError as error:
        column = error.column - 2 if arguments and error.line == 1 else error.column
        return f"not a Groovy expression (line {error.line}, column {column}): {error.message}"
    return None


def code_problem(code: str) -> str | None:
    """Why Groovy kept as text would not read, or not stay inside its block; else None."""
    source = Source(code)
    try:
        check_brackets(source, tokenize(source))
    except ConversionError as error:
        position = f"line {error.line}, column {error.column}"
        return f"the code does not read as Groovy ({position}): {error.message}"
    return None


def validate_model(model: Any) -> list[Problem]:
    if model_too_deep(model):
        return [Problem("", f"the model nests deeper than {MAX_MODEL_DEPTH} levels")]
    validator = _Validator()
    validator.model(model)
    return validator.problems
