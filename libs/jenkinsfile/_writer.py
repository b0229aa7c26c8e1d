"""JSON model -> Jenkinsfile, formatted the way people write them.

The printer writes four-space indentation, sections in the order of the Jenkins
documentation (``agent``, ``options``, ``parameters``, ``triggers``, ``tools``,
``environment``, ``stages``, ``post`` ...), ``agent { label 'x' }`` on one line, steps in the
command form (``sh 'make'``, ``git url: '...', branch: 'main'``) and blocks with
parentheses (``dir('sub') {``).

Values print back to what the reader reads: a literal string becomes ``'single quoted'``
(``'''triple quoted'''`` when it holds a newline), a number or boolean prints as itself,
and an expression prints its source with Jenkins's ``${ }`` wrapper removed.

Code kept as text (``script { }``, ``expression { }``, sections the model has no place
for) prints its first line at the block's indentation and the following lines exactly as
stored: re-indenting them would change the text the next reading gives back, and the
JSON -> Jenkinsfile -> JSON round trip must return the same JSON.

Every method here renders *one* element into a list of lines at a given depth, so the
comment-keeping printer (:mod:`._splice`) can regenerate a single changed element in
place.
"""

from __future__ import annotations

import re
from typing import Any

from libs.jenkinsfile import _catalog as catalog
from libs.jenkinsfile._errors import ConversionError
from libs.jenkinsfile._reader import EXTENSION

JSON = dict[str, Any]
INDENT = "    "

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")
_COMMAND_START = re.compile(r"""[A-Za-z0-9_'"]""")

PIPELINE_ORDER = (
    "agent", "libraries", "options", "parameters", "triggers", "tools", "environment",
    "stages", "post",
)  # fmt: skip
STAGE_ORDER = (
    "agent", "when", "options", "tools", "environment", "input", "failFast", "steps",
    "stages", "parallel", "matrix", "post",
)  # fmt: skip
MATRIX_ORDER = (
    "axes", "excludes", "agent", "when", "options", "tools", "environment", "input",
    "stages", "post",
)  # fmt: skip


def model_error(message: str) -> ConversionError:
    return ConversionError(message, 0, 0)


def quote(text: str) -> str:
    """A Groovy string literal whose value is ``text`` (single or triple single quotes)."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'")
    escaped = escaped.replace("\r", "\\r").replace("\b", "\\b").replace("\f", "\\f")
    escaped = "".join(
        f"\\u{ord(c):04x}" if (ord(c) < 32 and c not in "\n\t") or c == "\u2028" else c
        for c in escaped
    )
    if "\n" in escaped:
        return "'''" + escaped + "'''"
    return "'" + escaped + "'"


def command(name: str, rendered: list[str]) -> str:
    """``name a, b`` when Groovy reads it as a call, else ``name(a, b)``.

    ``name [1]`` would index and ``name -1`` subtract, so a first argument that does not
    start with a letter, digit or quote needs the parentheses.
    """
    if rendered and _COMMAND_START.match(rendered[0]):
        return f"{name} {', '.join(rendered)}"
    return f"{name}({', '.join(rendered)})"


def render_key(key: str) -> str:
    return key if _IDENTIFIER.match(key) else quote(key)


def is_value(node: Any) -> bool:
    return isinstance(node, dict) and "isLiteral" in node


def render_value(node: Any) -> str:
    if not is_value(node):
        raise model_error(f"expected a value {{isLiteral, value}}, found {node!r}")
    value = node["value"]
    if node["isLiteral"]:
        if isinstance(value, bool):
            return "true" if value else "false"
        if value is None:
            return "null"
        if isinstance(value, int | float):
            return repr(value)
        if isinstance(value, str):
            return quote(value)
        raise model_error(f"a literal value cannot be {value!r}")
    if not isinstance(value, str):
        raise model_error(f"an expression value must be a string, found {value!r}")
    if value.startswith("${") and value.endswith("}"):
        return value[2:-1]
    return value


VERBATIM = -1  # the depth of a line printed exactly as stored


class Writer:
    """Renders model elements into ``lines``: (depth, text) pairs joined by :meth:`text`."""

    def __init__(self, unit: str = INDENT) -> None:
        self.unit = unit
        self.lines: list[tuple[int, str]] = []

    def line(self, depth: int, text: str) -> None:
        self.lines.append((depth, text))

    def code_lines(self, depth: int, text: str) -> None:
        """Free Groovy text: first line indented, following lines as stored."""
        first, *rest = text.split("\n")
        self.line(depth, first)
        self.lines.extend((VERBATIM, line) for line in rest)

    def text(self, base: str = "") -> str:
        """The lines joined; ``base`` prefixes every indented line but the first."""
        out: list[str] = []
        for index, (depth, text) in enumerate(self.lines):
            if depth == VERBATIM or not text:
                out.append(text)
            elif index == 0:
                out.append(self.unit * depth + text)
            else:
                out.append(base + self.unit * depth + text)
        return "\n".join(out)

    # -- pipeline -------------------------------------------------------------------

    def document(self, model: JSON) -> str:
        pipeline = model.get("pipeline")
        if not isinstance(pipeline, dict):
            raise model_error('the model has no "pipeline" object')
        extension = pipeline.get(EXTENSION) or {}
        prelude = extension.get("prelude")
        if prelude:
            self.code_lines(0, prelude)
            self.line(0, "")
        self.pipeline(pipeline)
        epilogue = extension.get("epilogue")
        if epilogue:
            self.line(0, "")
            self.code_lines(0, epilogue)
        return self.text() + "\n"

    def pipeline(self, pipeline: JSON) -> None:
        self.line(0, "pipeline {")
        for name in PIPELINE_ORDER:
            if name in pipeline:
                self.section(1, name, pipeline[name])
        self.unmodelled(1, pipeline)
        self.line(0, "}")

    def unmodelled(self, depth: int, owner: JSON) -> None:
        for text in (owner.get(EXTENSION) or {}).get("sections", []):
            self.code_lines(depth, text)

    def section(self, depth: int, name: str, value: Any) -> None:
        """One section (of a pipeline, stage or matrix) named as in the Jenkinsfile."""
        if name == "agent":
            self.agent(depth, value)
        elif name == "libraries":
            self.open(depth, "libraries")
            for library in value["libraries"]:
                self.line(depth + 1, f"lib({render_value(library)})")
            self.line(depth, "}")
        elif name in ("options", "parameters", "triggers"):
            self.open(depth, name)
            for call in value[name]:
                self.line(depth + 1, self.method_call(call))
            self.line(depth, "}")
        elif name == "tools":
            self.open(depth, "tools")
            for tool in value:
                self.line(depth + 1, command(tool["key"], [render_value(tool["value"])]))
            self.line(depth, "}")
        elif name == "environment":
            self.open(depth, "environment")
            for entry in value:
                self.line(depth + 1, self.environment_entry(entry))
            self.line(depth, "}")
        elif name == "stages":
            self.open(depth, "stages")
            for stage in value:
                self.stage(depth + 1, stage)
            self.line(depth, "}")
        elif name == "parallel":
            self.open(depth, "parallel")
            for stage in value:
                self.stage(depth + 1, stage)
            self.line(depth, "}")
        elif name == "post":
            self.post(depth, value)
        elif name == "when":
            self.when(depth, value)
        elif name == "input":
            self.input(depth, value)
        elif name == "failFast":
            self.line(depth, f"failFast {'true' if value else 'false'}")
        elif name == "steps":
            self.steps_section(depth, value)
        elif name == "matrix":
            self.matrix(depth, value)
        elif name == "axes":
            self.axes(depth, value)
        elif name == "excludes":
            self.excludes(depth, value)
        else:
            raise model_error(f"unknown section {name!r}")

    def open(self, depth: int, head: str) -> None:
        self.line(depth, head + " {")

    # -- agent ----------------------------------------------------------------------

    def agent(self, depth: int, agent: JSON) -> None:
        kind = agent.get("type")
        if not isinstance(kind, str):
            raise model_error("an agent needs a 'type'")
        if "argument" in agent:
            self.line(depth, f"agent {{ {command(kind, [render_value(agent['argument'])])} }}")
        elif "arguments" in agent:
            self.open(depth, "agent")
            self.closure_map(depth + 1, kind, agent["arguments"])
            self.line(depth, "}")
        elif kind in catalog.BARE_AGENTS:
            self.line(depth, f"agent {kind}")
        else:
            self.line(depth, f"agent {{ {kind} {{ }} }}")

    def closure_map(self, depth: int, name: str, entries: list[JSON]) -> None:
        self.open(depth, name)
        for entry in entries:
            value = entry["value"]
            if isinstance(value, list):
                self.closure_map(depth + 1, entry["key"], value)
            else:
                self.line(depth + 1, command(entry["key"], [render_value(value)]))
        self.line(depth, "}")

    # -- environment, method calls --------------------------------------------------

    def environment_entry(self, entry: JSON) -> str:
        value = entry["value"]
        if isinstance(value, dict) and "name" in value:
            args = ", ".join(render_value(a) for a in value.get("arguments", []))
            return f"{entry['key']} = {value['name']}({args})"
        return f"{entry['key']} = {render_value(value)}"

    def method_call(self, call: JSON) -> str:
        args = call.get("arguments", [])
        if isinstance(args, dict):
            args = [args]
        return f"{call['name']}({', '.join(self.method_arg(a) for a in args)})"

    def method_arg(self, arg: JSON) -> str:
        if "key" in arg:
            value = arg["value"]
            rendered = self.method_call(value) if "name" in value else render_value(value)
            return f"{render_key(arg['key'])}: {rendered}"
        if "name" in arg:
            return self.method_call(arg)
        return render_value(arg)

    # -- stages ---------------------------------------------------------------------

    def stage(self, depth: int, stage: JSON) -> None:
        self.open(depth, f"stage({quote(stage['name'])})")
        self.stage_body(depth + 1, stage)
        self.line(depth, "}")

    def stage_body(self, depth: int, stage: JSON) -> None:
        for name, value in stage_sections(stage):
            self.section(depth, name, value)
        self.unmodelled(depth, stage)

    def matrix(self, depth: int, matrix: JSON) -> None:
        self.open(depth, "matrix")
        for name in MATRIX_ORDER:
            if name in matrix:
                self.section(depth + 1, name, matrix[name])
        self.unmodelled(depth + 1, matrix)
        self.line(depth, "}")

    def axes(self, depth: int, axes: list[JSON]) -> None:
        self.open(depth, "axes")
        for axis in axes:
            self.axis(depth + 1, axis)
        self.line(depth, "}")

    def excludes(self, depth: int, excludes: list[list[JSON]]) -> None:
        self.open(depth, "excludes")
        for exclude in excludes:
            self.open(depth + 1, "exclude")
            for axis in exclude:
                self.axis(depth + 2, axis)
            self.line(depth + 1, "}")
        self.line(depth, "}")

    def axis(self, depth: int, axis: JSON) -> None:
        self.open(depth, "axis")
        self.line(depth + 1, f"name {quote(axis['name'])}")
        keyword = "notValues" if axis.get("inverse") else "values"
        self.line(depth + 1, command(keyword, [render_value(v) for v in axis["values"]]))
        self.line(depth, "}")

    def steps_section(self, depth: int, section: JSON) -> None:
        branches = section["branches"]
        self.open(depth, "steps")
        if _is_default_branch(branches):
            self.step_list(depth + 1, branches[0]["steps"])
        else:
            self.line(depth + 1, "parallel(")
            entries: list[tuple[str, Any]] = [(b["name"], b["steps"]) for b in branches]
            if "failFast" in section:
                entries.append(("failFast", section["failFast"]))
            for index, (name, steps) in enumerate(entries):
                comma = "," if index < len(entries) - 1 else ""
                if name == "failFast" and isinstance(steps, bool):
                    self.line(depth + 2, f"failFast: {'true' if steps else 'false'}{comma}")
                    continue
                self.line(depth + 2, f"{quote(name)}: {{")
                self.step_list(depth + 3, steps)
                self.line(depth + 2, "}" + comma)
            self.line(depth + 1, ")")
        self.line(depth, "}")

    # -- steps ----------------------------------------------------------------------

    def step_list(self, depth: int, steps: list[JSON]) -> None:
        for step in steps:
            self.step(depth, step)

    def step(self, depth: int, step: JSON) -> None:
        name = step.get("name")
        if not isinstance(name, str) or not _IDENTIFIER.match(name):
            raise model_error(f"a step needs a name that is a Groovy identifier, found {name!r}")
        code = script_block(step)
        if code is not None:
            self.code_block(depth, name, code)
            return
        arguments = step.get("arguments", [])
        if "children" in step:
            self.open(depth, self.call_head(name, arguments, block=True))
            self.step_list(depth + 1, step["children"])
            self.line(depth, "}")
        else:
            self.line(depth, self.call_head(name, arguments, block=False))

    def code_block(self, depth: int, name: str, code: str) -> None:
        if not code:
            self.open(depth, name)
            self.line(depth, "}")
            return
        self.open(depth, name)
        self.code_lines(depth + 1, code)
        self.line(depth, "}")

    def call_head(self, name: str, arguments: Any, *, block: bool) -> str:
        """``name args`` (command form) or ``name(args)``, as a person writes the call."""
        if is_value(arguments):
            rendered = [render_value(arguments)]
        elif isinstance(arguments, list):
            if (
                not block
                and len(arguments) == 1
                and "key" in arguments[0]
                and arguments[0]["key"] == catalog.SOLE_PARAMETER.get(name)
            ):
                rendered = [render_value(arguments[0]["value"])]
            else:
                rendered = [self.argument(a) for a in arguments]
        else:
            raise model_error(f"the arguments of '{name}' must be a list or a value")

        if block:
            return f"{name}({', '.join(rendered)})" if rendered else name
        return command(name, rendered)

    def argument(self, argument: JSON) -> str:
        if "key" in argument:
            return f"{render_key(argument['key'])}: {render_value(argument['value'])}"
        return render_value(argument)

    # -- post, when, input ----------------------------------------------------------

    def post(self, depth: int, post: JSON) -> None:
        self.open(depth, "post")
        for condition in post["conditions"]:
            self.post_condition(depth + 1, condition)
        self.line(depth, "}")

    def post_condition(self, depth: int, condition: JSON) -> None:
        self.open(depth, condition["condition"])
        self.step_list(depth + 1, condition["branch"]["steps"])
        self.line(depth, "}")

    def when(self, depth: int, when: JSON) -> None:
        self.open(depth, "when")
        for flag in catalog.WHEN_FLAGS:
            if flag in when:
                self.line(depth + 1, f"{flag} {'true' if when[flag] else 'false'}")
        for condition in when["conditions"]:
            self.when_condition(depth + 1, condition)
        self.line(depth, "}")

    def when_condition(self, depth: int, condition: JSON) -> None:
        name = condition["name"]
        code = script_block(condition)
        if code is not None:
            if "\n" in code or not code or "//" in code or "/*" in code:
                self.code_block(depth, name, code)
            else:
                self.line(depth, f"{name} {{ {code} }}")
            return
        if "children" in condition:
            head = self.call_head(name, condition.get("arguments", []), block=True)
            self.open(depth, head)
            for child in condition["children"]:
                self.when_condition(depth + 1, child)
            self.line(depth, "}")
            return
        self.line(depth, self.call_head(name, condition.get("arguments", []), block=False))

    def input(self, depth: int, input_: JSON) -> None:
        self.open(depth, "input")
        for field in catalog.INPUT_FIELDS:
            if field not in input_:
                continue
            if field == "parameters":
                self.open(depth + 1, "parameters")
                for call in input_["parameters"]["parameters"]:
                    self.line(depth + 2, self.method_call(call))
                self.line(depth + 1, "}")
            else:
                self.line(depth + 1, command(field, [render_value(input_[field])]))
        self.line(depth, "}")


def script_block(step: JSON) -> str | None:
    """The code of a ``script``/``expression`` element, or None for other steps."""
    if step.get("name") not in catalog.CODE_BLOCK_STEPS:
        return None
    arguments = step.get("arguments")
    if (
        isinstance(arguments, list)
        and len(arguments) == 1
        and arguments[0].get("key") == ("scriptBlock")
    ):
        value = arguments[0]["value"]
    elif is_value(arguments):
        value = arguments  # the old single-argument form
    else:
        raise model_error(f"'{step.get('name')}' needs a scriptBlock argument")
    if not isinstance(value.get("value"), str):
        raise model_error("a scriptBlock must be a string of Groovy code")
    text: str = value["value"]
    return text


def stage_sections(stage: JSON) -> list[tuple[str, Any]]:
    """A stage's JSON cut into its Jenkinsfile sections, in printing order."""
    sections: dict[str, Any] = {}
    for name in ("agent", "when", "options", "tools", "environment", "input", "post"):
        if name in stage:
            sections[name] = stage[name]
    branches = stage.get("branches")
    default_only = branches is not None and _is_default_branch(branches)
    if branches is not None:
        steps: JSON = {"branches": branches}
        if "failFast" in stage and not default_only:
            steps["failFast"] = stage["failFast"]
        sections["steps"] = steps
    if "failFast" in stage and (branches is None or default_only):
        sections["failFast"] = stage["failFast"]
    for name in ("stages", "parallel", "matrix"):
        if name in stage:
            sections[name] = stage[name]
    return [(name, sections[name]) for name in STAGE_ORDER if name in sections]


def _is_default_branch(branches: Any) -> bool:
    return (
        isinstance(branches, list) and len(branches) == 1 and branches[0].get("name") == "default"
    )


MAX_MODEL_DEPTH = 200


def model_too_deep(model: Any) -> bool:
    """Whether the JSON nests deeper than any pipeline could (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(model, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_MODEL_DEPTH:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return False


def write_jenkinsfile(model: JSON) -> str:
    if model_too_deep(model):
        raise model_error(f"the model nests deeper than {MAX_MODEL_DEPTH} levels")
    return Writer().document(model)
