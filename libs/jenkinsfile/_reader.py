"""Jenkinsfile -> JSON model: walks the parsed Groovy and builds Jenkins's JSON.

The JSON is the one Jenkins's ``pipeline-model-converter/toJson`` returns (the
``ModelAST*.toJSON()`` of pipeline-model-definition), and the rules for values are
Jenkins's own:

- a constant (a string without interpolation, a number, a boolean, ``null``) is
  ``{"isLiteral": true, "value": <decoded value>}``;
- an interpolating string is ``{"isLiteral": false, "value": <its source, quotes included>}``;
- a map is ``{"isLiteral": false, "value": "[k: v]"}`` (its source);
- any other expression (a variable, ``a.b``, a list, a call inside a step argument) is
  ``{"isLiteral": false, "value": "${<its source>}"}``; the printer strips the ``${ }``.

Where Jenkins refuses something, so does this reader, with the line and column (a
``parallel`` or ``matrix`` inside another, an unknown when condition or one without its
required parameter, a second pipeline block, brackets that do not close). Where the
model has no place for a section (an unknown directive in ``pipeline``, a stage or a
matrix; the text before and after the ``pipeline`` block), the reader keeps its source text
under the ``"x-workbench"`` key of the enclosing object instead of dropping it; see the
package docstring.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from libs.jenkinsfile import _catalog as catalog
from libs.jenkinsfile._errors import ConversionError, ScriptedPipelineError
from libs.jenkinsfile._lexer import Kind, Source, Token, check_brackets, tokenize
from libs.jenkinsfile._parser import (
    Assign,
    Binary,
    Block,
    Call,
    Closure,
    Const,
    Expr,
    GString,
    MapExpr,
    Name,
    NamedArg,
    Parser,
    Statement,
)

JSON = dict[str, Any]
EXTENSION = "x-workbench"
MAX_SOURCE_CHARS = 4_000_000
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1


class Reader:
    """Reads one Jenkinsfile; :meth:`read` returns ``{"pipeline": {...}}``."""

    def __init__(self, text: str) -> None:
        if len(text) > MAX_SOURCE_CHARS:
            raise ConversionError(
                f"the Jenkinsfile is {len(text)} characters long; "
                f"the converter reads at most {MAX_SOURCE_CHARS}",
                1,
                1,
            )
        self.source = Source(text)
        self.text = text
        self.tokens = tokenize(self.source)
        self.pipeline_call: Call | None = None
        # How many parallel or matrix blocks enclose the stage being read.
        self.parallel_depth = 0

    # -- entry ----------------------------------------------------------------------

    def read(self) -> JSON:
        start_index = find_pipeline(self.source, self.tokens)
        parser = Parser(self.source, self.tokens)
        parser.index = start_index
        statement = parser.parse_statement(catalog.CODE_BLOCK_STEPS)
        assert isinstance(statement, Call) and statement.block is not None
        self.pipeline_call = statement
        pipeline = self.pipeline(statement.block)
        self.check_outside(parser.index)

        extension: JSON = {}
        prelude = self.text[: statement.start].strip()
        epilogue = self.text[statement.end :].strip()
        if prelude:
            extension["prelude"] = prelude
        if epilogue:
            extension["epilogue"] = epilogue
        if extension:
            pipeline.setdefault(EXTENSION, {}).update(extension)
        return {"pipeline": pipeline}

    def check_outside(self, after: int) -> None:
        """The text around the pipeline block is Groovy too, kept but not modelled.

        It must still be well-formed, or it would be stored as the prelude or epilogue and
        Jenkins would refuse the file: brackets closed in order, and no second pipeline.
        ``after`` is the index of the first token after the pipeline block.
        """
        check_brackets(self.source, self.tokens)
        depth = 0
        statement_start = True
        for index in range(after, len(self.tokens)):
            token = self.tokens[index]
            if token.kind is Kind.NEWLINE or (token.kind is Kind.OP and token.text == ";"):
                statement_start = True
                continue
            if token.kind is Kind.OP and token.text in ("{", "(", "["):
                depth += 1
            elif token.kind is Kind.OP and token.text in ("}", ")", "]"):
                depth -= 1
            elif (
                token.kind is Kind.NAME
                and token.text == "pipeline"
                and statement_start
                and depth <= 0
                and _opens_block(self.tokens, index + 1)
            ):
                raise self.error(
                    "a second pipeline block: a Jenkinsfile holds one pipeline { ... }",
                    token.start,
                )
            statement_start = token.kind is Kind.OP and token.text in ("{", "}")

    def error(self, message: str, offset: int) -> ConversionError:
        return self.source.error(message, offset)

    def slice(self, start: int, end: int) -> str:
        return self.text[start:end]

    # -- pipeline -------------------------------------------------------------------

    def pipeline(self, block: Block) -> JSON:
        sections = self.sections(block, "pipeline", catalog.PIPELINE_SECTIONS)
        result: JSON = {}
        unmodelled: list[str] = []

        for name, call in sections:
            if name not in catalog.PIPELINE_SECTIONS:
                unmodelled.append(self.slice(call.start, call.end))
                continue
            result[name] = self.pipeline_section(name, call)

        if "stages" not in result:
            raise self.error(
                "the pipeline has no 'stages' section: add stages { stage('...') { ... } }",
                block.open,
            )
        if "agent" not in result:
            raise self.error(
                "the pipeline has no 'agent' section: add 'agent any', 'agent none' or "
                "agent { label '...' }",
                block.open,
            )
        ordered = {key: result[key] for key in _PIPELINE_JSON_ORDER if key in result}
        if unmodelled:
            ordered[EXTENSION] = {"sections": unmodelled}
        return ordered

    def pipeline_section(self, name: str, call: Call) -> Any:
        if name == "stages":
            return self.stages(call)
        if name == "libraries":
            return self.libraries(call)
        return self.common_section(name, call)

    def common_section(self, name: str, call: Call) -> Any:
        """Sections shared by pipeline, stage and matrix."""
        if name == "agent":
            return self.agent(call)
        if name == "environment":
            return self.environment(call)
        if name == "tools":
            return self.tools(call)
        if name == "post":
            return self.post(call)
        if name in ("options", "parameters", "triggers"):
            return {name: self.method_calls(call, name)}
        if name == "when":
            return self.when(call)
        if name == "input":
            return self.input(call)
        raise AssertionError(name)

    def sections(self, block: Block, owner: str, known: tuple[str, ...]) -> list[tuple[str, Call]]:
        """The ``name ... { }`` statements of a block, checking for repeats."""
        seen: dict[str, int] = {}
        result: list[tuple[str, Call]] = []
        for statement in block.statements or []:
            if not isinstance(statement, Call):
                raise self.error(
                    f"not a valid {owner} section: "
                    f"'{_first_line(self.slice(statement.start, statement.end))}'",
                    statement.start,
                )
            name = statement.name
            if name in catalog.RETIRED_SECTIONS and name not in known:
                raise self.error(catalog.RETIRED_SECTIONS[name], statement.start)
            if name in seen and name in known:
                line, _ = self.source.position(seen[name])
                raise self.error(
                    f"the '{name}' section appears twice in {owner} "
                    f"(first at line {line}): merge them into one",
                    statement.start,
                )
            seen[name] = statement.start
            result.append((name, statement))
        return result

    def require_block(self, call: Call, what: str) -> list[Statement]:
        if call.block is None or call.block.statements is None:
            raise self.error(f"'{call.name}' needs a block: {what}", call.start)
        if call.args:
            raise self.error(f"'{call.name}' takes a block and no arguments", call.start)
        return call.block.statements

    # -- stages ---------------------------------------------------------------------

    def stages(self, call: Call) -> list[JSON]:
        statements = self.require_block(call, "stages { stage('name') { ... } }")
        if not statements:
            raise self.error("'stages' is empty: add at least one stage", call.start)
        return [self.stage(statement) for statement in statements]

    def stage(self, statement: Statement) -> JSON:
        if not isinstance(statement, Call) or statement.name != "stage":
            found = _first_line(self.slice(statement.start, statement.end))
            raise self.error(f"expected a stage, found '{found}'", statement.start)
        call = statement
        if not call.args:
            raise self.error("the stage has no name: write stage('name') { ... }", call.start)
        name_arg = call.args[0]
        if isinstance(name_arg, Const) and isinstance(name_arg.value, str):
            name = name_arg.value
        elif isinstance(name_arg, Name):
            name = name_arg.name
        else:
            raise self.error(
                "a stage name must be a plain string such as 'Build' "
                "(no ${...}: Jenkins needs the names before the run starts)",
                name_arg.start,
            )
        if len(call.args) > 1:
            raise self.error("a stage takes one argument, its name", call.args[1].start)
        if call.block is None or call.block.statements is None:
            raise self.error(f"stage '{name}' has no block: add {{ steps {{ ... }} }}", call.start)

        result: JSON = {"name": name}
        result.update(self.stage_body(call.block, f"stage '{name}'", catalog.STAGE_SECTIONS))
        kinds = [key for key in ("branches", "parallel", "stages", "matrix") if key in result]
        if not kinds:
            raise self.error(
                f"stage '{name}' has nothing to run: add steps, stages, parallel or matrix",
                call.start,
            )
        if len(kinds) > 1:
            shown = ["steps" if kind == "branches" else kind for kind in kinds]
            raise self.error(
                f"stage '{name}' has both {shown[0]} and {shown[1]}: "
                "a stage holds only one of steps, stages, parallel or matrix",
                call.start,
            )
        return result

    def stage_body(self, block: Block, owner: str, known: tuple[str, ...]) -> JSON:
        """Sections of a stage or a matrix, ordered as Jenkins writes them."""
        result: JSON = {}
        unmodelled: list[str] = []

        for name, call in self.sections(block, owner, known):
            if name not in known:
                unmodelled.append(self.slice(call.start, call.end))
                continue
            if name == "steps":
                branches, fail_fast = self.steps_section(call)
                result["branches"] = branches
                if fail_fast is not None:
                    result["failFast"] = fail_fast
            elif name == "failFast":
                result["failFast"] = self.boolean_flag(call)
            elif name == "parallel":
                statements = self.require_block(call, "parallel { stage('name') { ... } }")
                if not statements:
                    raise self.error("'parallel' is empty: add at least one stage", call.start)
                with self.in_parallel(call, owner):
                    result["parallel"] = [self.stage(s) for s in statements]
            elif name == "stages":
                result["stages"] = self.stages(call)
            elif name == "matrix":
                with self.in_parallel(call, owner):
                    result["matrix"] = self.matrix(call)
            elif name == "axes":
                result["axes"] = self.axes(call)
            elif name == "excludes":
                result["excludes"] = self.excludes(call)
            else:
                result[name] = self.common_section(name, call)

        ordered = {key: result[key] for key in _STAGE_JSON_ORDER if key in result}
        if unmodelled:
            ordered[EXTENSION] = {"sections": unmodelled}
        return ordered

    @contextlib.contextmanager
    def in_parallel(self, call: Call, owner: str) -> Iterator[None]:
        """Read the stages of a parallel or matrix; Jenkins refuses one inside another."""
        if self.parallel_depth:
            raise self.error(
                f"{owner} is inside a parallel or matrix, so it cannot hold a '{call.name}'",
                call.start,
            )
        self.parallel_depth += 1
        try:
            yield
        finally:
            self.parallel_depth -= 1

    def boolean_flag(self, call: Call) -> bool:
        if len(call.args) != 1 or call.block is not None:
            raise self.error(f"'{call.name}' takes true or false", call.start)
        arg = call.args[0]
        if not isinstance(arg, Const) or not isinstance(arg.value, bool):
            raise self.error(f"'{call.name}' takes true or false", arg.start)
        return arg.value

    def steps_section(self, call: Call) -> tuple[list[JSON], bool | None]:
        statements = self.require_block(call, "steps { sh '...' }")
        if not statements:
            raise self.error("'steps' is empty: add at least one step", call.start)
        if len(statements) == 1 and isinstance(statements[0], Call):
            only = statements[0]
            if only.name == "parallel" and only.block is None:
                return self.parallel_branches(only)
        for statement in statements:
            if isinstance(statement, Call) and statement.name == "parallel":
                raise self.error(
                    "'parallel' must be the only step in its 'steps' block", statement.start
                )
        return [{"name": "default", "steps": self.step_list(statements)}], None

    def parallel_branches(self, call: Call) -> tuple[list[JSON], bool | None]:
        branches: list[JSON] = []
        fail_fast: bool | None = None
        for arg in call.args:
            if not isinstance(arg, NamedArg):
                raise self.error("parallel in steps takes name: { ... } pairs", arg.start)
            if arg.key == "failFast":
                if not isinstance(arg.value, Const) or not isinstance(arg.value.value, bool):
                    raise self.error("failFast takes true or false", arg.value.start)
                fail_fast = arg.value.value
                continue
            if not isinstance(arg.value, Closure) or arg.value.block is None:
                raise self.error(
                    f"parallel branch '{arg.key}' must be a block {{ ... }}", arg.value.start
                )
            statements = self.parse_skipped(arg.value.block)
            branches.append({"name": arg.key, "steps": self.step_list(statements)})
        if not branches:
            raise self.error("'parallel' has no branches", call.start)
        return branches, fail_fast

    def parse_skipped(self, block: Block) -> list[Statement]:
        """Parse, as steps, a block the parser skipped (a closure inside arguments)."""
        parser = Parser(self.source, self.tokens)
        parser.index = block.open_index
        parsed = parser.parse_block(catalog.CODE_BLOCK_STEPS)
        return parsed.statements or []

    # -- steps ----------------------------------------------------------------------

    def step_list(self, statements: list[Statement]) -> list[JSON]:
        return [self.step(statement) for statement in statements]

    def step(self, statement: Statement) -> JSON:
        if not isinstance(statement, Call):
            text = _first_line(self.slice(statement.start, statement.end))
            raise self.error(
                f"'{text}' is not a step: declarative steps are calls such as sh '...'; "
                "put other Groovy code inside script { ... }",
                statement.start,
            )
        call = statement
        if call.name in catalog.CODE_BLOCK_STEPS:
            return self.code_block(call)
        if call.name == "parallel":
            raise self.error("'parallel' must be the only step in its 'steps' block", call.start)
        if call.name == "stage":
            raise self.error("a stage cannot be a step: put stages in a 'stages' block", call.start)

        if call.block is not None:
            children = self.step_list(call.block.statements or [])
            return {
                "name": call.name,
                "arguments": self.arguments(call, populate=False),
                "children": children,
            }
        return {"name": call.name, "arguments": self.arguments(call, populate=True)}

    def code_block(self, call: Call) -> JSON:
        if call.block is None:
            raise self.error(f"'{call.name}' needs a block: {call.name} {{ ... }}", call.start)
        if call.args:
            raise self.error(f"'{call.name}' takes a block and no arguments", call.start)
        code = self.slice(call.block.code_start, call.block.code_end)
        return {
            "name": call.name,
            "arguments": [{"key": "scriptBlock", "value": literal(code)}],
        }

    def arguments(self, call: Call, *, populate: bool) -> Any:
        args = call.args
        if not args:
            return []
        named = [arg for arg in args if isinstance(arg, NamedArg)]
        if named and len(named) != len(args):
            raise self.error(
                f"'{call.name}' mixes named and unnamed arguments: name them all",
                call.start,
            )
        if named:
            if any(arg.key == "$class" for arg in named):
                return self.expression(named[0].key_start, named[-1].value.end)
            return [{"key": arg.key, "value": self.value(arg.value)} for arg in named]
        if len(args) == 1:
            only = args[0]
            assert isinstance(only, Expr)
            value = self.value(only)
            parameter = catalog.SOLE_PARAMETER.get(call.name) if populate else None
            if parameter is not None:
                return [{"key": parameter, "value": value}]
            return value
        return [self.value(arg) for arg in args if isinstance(arg, Expr)]

    # -- values ---------------------------------------------------------------------

    def value(self, expr: Expr) -> JSON:
        if isinstance(expr, Const):
            return self.constant(expr)
        if isinstance(expr, GString):
            return {"isLiteral": False, "value": self.slice(expr.start, expr.end)}
        if isinstance(expr, MapExpr):
            return {"isLiteral": False, "value": self.slice(expr.start, expr.end)}
        if isinstance(expr, Name) and expr.name in catalog.BARE_AGENTS:
            return literal(expr.name)
        return self.expression(expr.start, expr.end)

    def expression(self, start: int, end: int) -> JSON:
        text = self.slice(start, end)
        if text.startswith("${"):
            raise self.error('${...} outside a string: put it in double quotes, "${...}"', start)
        return {"isLiteral": False, "value": "${" + text + "}"}

    def constant(self, expr: Const) -> JSON:
        value = expr.value
        big = isinstance(value, int) and not LONG_MIN <= value <= LONG_MAX
        if big and not isinstance(value, bool):
            raise self.error("the number is too large for Jenkins (a 64-bit long)", expr.start)
        return literal(value)

    # -- agent ----------------------------------------------------------------------

    def agent(self, call: Call) -> JSON:
        if call.block is None:
            if len(call.args) != 1:
                raise self.error(
                    "write 'agent any', 'agent none' or agent { label '...' }", call.start
                )
            arg = call.args[0]
            if not isinstance(arg, Name) or arg.name not in catalog.BARE_AGENTS:
                raise self.error(
                    "only 'any' and 'none' stand alone after 'agent': "
                    "write agent { label '...' } for the others",
                    arg.start,
                )
            return {"type": arg.name}
        statements = self.require_block(call, "agent { label '...' }")
        if len(statements) != 1:
            offset = statements[1].start if statements else call.start
            raise self.error("an agent block holds exactly one agent type", offset)
        only = statements[0]
        if not isinstance(only, Call):
            raise self.error(
                "expected an agent type such as label, docker or kubernetes", only.start
            )
        agent_type = only.name
        if only.block is not None:
            if only.args:
                raise self.error(f"'{agent_type}' takes either an argument or a block", only.start)
            arguments = self.closure_map(only)
            if agent_type == "label":
                agent_type = "node"  # what Jenkins does with a label block (JENKINS-41118)
            if agent_type in ("node",) and _only_empty_label(arguments):
                return {"type": "any"}
            if not arguments:
                return {"type": agent_type}
            return {"type": agent_type, "arguments": arguments}
        if len(only.args) != 1 or isinstance(only.args[0], NamedArg):
            raise self.error(f"'{agent_type}' takes one value, or a block of options", only.start)
        argument = self.value(only.args[0])
        if agent_type in ("label", "node") and argument == literal(""):
            return {"type": "any"}  # Jenkins turns an empty label into 'any' (JENKINS-43016)
        return {"type": agent_type, "argument": argument}

    def closure_map(self, call: Call) -> list[JSON]:
        result: list[JSON] = []
        assert call.block is not None
        for statement in call.block.statements or []:
            if not isinstance(statement, Call):
                raise self.error(f"expected 'option value' inside '{call.name}'", statement.start)
            if statement.block is not None:
                if statement.args:
                    raise self.error(
                        f"'{statement.name}' takes either a value or a block", statement.start
                    )
                result.append({"key": statement.name, "value": self.closure_map(statement)})
                continue
            if len(statement.args) != 1 or isinstance(statement.args[0], NamedArg):
                raise self.error(f"'{statement.name}' takes exactly one value", statement.start)
            result.append({"key": statement.name, "value": self.value(statement.args[0])})
        return result

    # -- environment, tools, libraries ----------------------------------------------

    def environment(self, call: Call) -> list[JSON]:
        statements = self.require_block(call, "environment { NAME = 'value' }")
        if not statements:
            raise self.error("'environment' is empty: add NAME = 'value' lines", call.start)
        result: list[JSON] = []
        seen: set[str] = set()
        for statement in statements:
            entry = self.environment_entry(statement)
            if entry["key"] in seen:
                assert isinstance(statement, Assign)
                raise self.error(
                    f"environment variable '{entry['key']}' is set twice", statement.target_start
                )
            seen.add(entry["key"])
            result.append(entry)
        return result

    def environment_entry(self, statement: Statement) -> JSON:
        if not isinstance(statement, Assign):
            raise self.error("expected NAME = value in 'environment'", statement.start)
        if not (statement.target[0].isalpha() or statement.target[0] == "_"):
            raise self.error(
                f"'{statement.target}' is not a valid environment variable name",
                statement.target_start,
            )
        return {"key": statement.target, "value": self.environment_value(statement.value)}

    def environment_value(self, expr: Expr) -> JSON:
        if isinstance(expr, Call) and expr.name == "credentials" and expr.block is None:
            arguments: list[JSON] = []
            for arg in expr.args:
                if not isinstance(arg, Const | GString):
                    raise self.error("credentials() takes the credential id as a string", arg.start)
                arguments.append(self.value(arg))
            return {"name": "credentials", "arguments": arguments}
        if isinstance(expr, Binary):
            return self.concatenation(expr)
        return self.value(expr)

    def concatenation(self, expr: Binary) -> JSON:
        """``'a' + "b${X}"``: Jenkins folds a string concatenation into one value."""
        parts: list[Expr] = []
        node: Expr | None = expr
        while isinstance(node, Binary):
            assert node.right is not None
            parts.append(node.right)
            node = node.left
        assert node is not None
        parts.append(node)
        parts.reverse()
        if all(isinstance(part, Const) for part in parts):
            return literal("".join(_as_text(part) for part in parts if isinstance(part, Const)))
        # TODO: Jenkins writes the interpolated result without quotes, which its own printer
        # cannot read back; we quote it so that the value stays a valid GString.
        pieces: list[str] = []
        for part in parts:
            if isinstance(part, Const):
                pieces.append(_escape_gstring(_as_text(part)))
            else:
                pieces.append(_gstring_body(self.slice(part.start, part.end)))
        return {"isLiteral": False, "value": '"' + "".join(pieces) + '"'}

    def tools(self, call: Call) -> list[JSON]:
        statements = self.require_block(call, "tools { maven 'name' }")
        if not statements:
            raise self.error("'tools' is empty: add tool lines such as maven 'M3'", call.start)
        result: list[JSON] = []
        for statement in statements:
            if (
                not isinstance(statement, Call)
                or statement.block is not None
                or len(statement.args) != 1
                or isinstance(statement.args[0], NamedArg)
            ):
                raise self.error("expected a tool line such as maven 'M3'", statement.start)
            result.append({"key": statement.name, "value": self.value(statement.args[0])})
        return result

    def libraries(self, call: Call) -> JSON:
        statements = self.require_block(call, "libraries { lib('name@version') }")
        if not statements:
            raise self.error("'libraries' is empty: add lib('name@version')", call.start)
        result: list[JSON] = []
        for statement in statements:
            if (
                not isinstance(statement, Call)
                or statement.name != "lib"
                or statement.block is not None
                or len(statement.args) != 1
                or isinstance(statement.args[0], NamedArg)
            ):
                raise self.error("expected lib('name@version') in 'libraries'", statement.start)
            result.append(self.value(statement.args[0]))
        return {"libraries": result}

    # -- options, parameters, triggers ----------------------------------------------

    def method_calls(self, call: Call, section: str) -> list[JSON]:
        statements = self.require_block(call, f"{section} {{ ... }}")
        if not statements:
            raise self.error(f"'{section}' is empty", call.start)
        result: list[JSON] = []
        for statement in statements:
            if not isinstance(statement, Call):
                raise self.error(
                    f"expected a call such as name(...) in '{section}'", statement.start
                )
            if statement.block is not None:
                raise self.error(f"entries of '{section}' cannot have blocks", statement.block.open)
            result.append(self.method_call(statement))
        return result

    def method_call(self, call: Call) -> JSON:
        arguments: list[JSON] = []
        for arg in call.args:
            if isinstance(arg, NamedArg):
                arguments.append({"key": arg.key, "value": self.method_arg(arg.value)})
            else:
                arguments.append(self.method_arg(arg))
        return {"name": call.name, "arguments": arguments}

    def method_arg(self, expr: Expr) -> JSON:
        if isinstance(expr, Closure):
            raise self.error("a method call here cannot take a block", expr.start)
        if isinstance(expr, Call) and expr.block is None:
            return self.method_call(expr)
        return self.value(expr)

    # -- post, when, input ----------------------------------------------------------

    def post(self, call: Call) -> JSON:
        statements = self.require_block(call, "post { always { ... } }")
        if not statements:
            raise self.error("'post' is empty: add a condition such as always { ... }", call.start)
        conditions: list[JSON] = []
        seen: set[str] = set()
        for statement in statements:
            condition = self.post_condition(statement)
            if condition["condition"] in seen:
                raise self.error(
                    f"post condition '{condition['condition']}' appears twice", statement.start
                )
            seen.add(condition["condition"])
            conditions.append(condition)
        return {"conditions": conditions}

    def post_condition(self, statement: Statement) -> JSON:
        if (
            not isinstance(statement, Call)
            or statement.name not in catalog.POST_CONDITIONS
            or statement.block is None
            or statement.args
        ):
            raise self.error(
                "expected a post condition block, one of: " + ", ".join(catalog.POST_CONDITIONS),
                statement.start,
            )
        steps = statement.block.statements or []
        if not steps:
            raise self.error(f"'{statement.name}' is empty: add at least one step", statement.start)
        return {
            "condition": statement.name,
            "branch": {"name": "default", "steps": self.step_list(steps)},
        }

    def when(self, call: Call) -> JSON:
        statements = self.require_block(call, "when { branch 'main' }")
        result: JSON = {"conditions": []}
        flags: JSON = {}
        for statement in statements:
            if not isinstance(statement, Call):
                raise self.error("expected a when condition such as branch 'main'", statement.start)
            if statement.name in catalog.WHEN_FLAGS:
                flags[statement.name] = self.boolean_flag(statement)
                continue
            result["conditions"].append(self.when_condition(statement))
        if not result["conditions"]:
            raise self.error("'when' has no condition", call.start)
        result.update(flags)
        return result

    def when_condition(self, call: Call) -> JSON:
        if call.name not in catalog.WHEN_CONDITIONS:
            raise self.error(
                f"unknown when condition '{call.name}'; one of: "
                + ", ".join(catalog.WHEN_CONDITIONS),
                call.start,
            )
        if call.name == "expression":
            return self.code_block(call)
        result: JSON = {"name": call.name}
        if call.block is not None:
            if call.args:
                result["arguments"] = self.arguments(call, populate=False)
            children: list[JSON] = []
            for statement in call.block.statements or []:
                if not isinstance(statement, Call):
                    raise self.error("expected a when condition", statement.start)
                children.append(self.when_condition(statement))
            if not children:
                raise self.error(f"'{call.name}' needs at least one condition", call.start)
            result["children"] = children
        else:
            result["arguments"] = self.arguments(call, populate=False)
        missing = catalog.missing_when_parameters(call.name, result.get("arguments"))
        if missing:
            raise self.error(
                f"when condition '{call.name}' needs " + " and ".join(missing), call.start
            )
        return result

    def input(self, call: Call) -> JSON:
        statements = self.require_block(call, "input { message '...' }")
        result: JSON = {}
        for statement in statements:
            if not isinstance(statement, Call) or statement.name not in catalog.INPUT_FIELDS:
                raise self.error(
                    "expected one of " + ", ".join(catalog.INPUT_FIELDS) + " in 'input'",
                    statement.start,
                )
            if statement.name in result:
                raise self.error(f"'{statement.name}' appears twice in 'input'", statement.start)
            if statement.name == "parameters":
                result["parameters"] = {"parameters": self.method_calls(statement, "parameters")}
                continue
            if len(statement.args) != 1 or isinstance(statement.args[0], NamedArg):
                raise self.error(f"'{statement.name}' takes one value", statement.start)
            result[statement.name] = self.value(statement.args[0])
        if "message" not in result:
            raise self.error("'input' needs a message", call.start)
        return {key: result[key] for key in catalog.INPUT_FIELDS if key in result}

    # -- matrix ---------------------------------------------------------------------

    def matrix(self, call: Call) -> JSON:
        if call.block is None or call.block.statements is None:
            raise self.error("'matrix' needs a block", call.start)
        result = self.stage_body(call.block, "matrix", catalog.MATRIX_SECTIONS)
        if "axes" not in result:
            raise self.error("'matrix' needs an 'axes' section", call.start)
        if "stages" not in result:
            raise self.error("'matrix' needs a 'stages' section", call.start)
        return result

    def axes(self, call: Call) -> list[JSON]:
        statements = self.require_block(call, "axes { axis { name '...'; values '...' } }")
        axes: list[JSON] = []
        for statement in statements:
            axis = self.axis(statement, exclude=False)
            if any(other["name"] == axis["name"] for other in axes):
                raise self.error(f"axis '{axis['name']}' appears twice", statement.start)
            axes.append(axis)
        if not axes:
            raise self.error("'axes' is empty: add an axis", call.start)
        return axes

    def excludes(self, call: Call) -> list[list[JSON]]:
        result: list[list[JSON]] = []
        for statement in self.require_block(call, "excludes { exclude { axis { ... } } }"):
            if not isinstance(statement, Call) or statement.name != "exclude":
                raise self.error("expected exclude { ... } in 'excludes'", statement.start)
            axes = [
                self.axis(inner, exclude=True)
                for inner in self.require_block(statement, "exclude { axis { ... } }")
            ]
            if not axes:
                raise self.error("'exclude' is empty: add an axis", statement.start)
            result.append(axes)
        if not result:
            raise self.error("'excludes' is empty", call.start)
        return result

    def axis(self, statement: Statement, *, exclude: bool) -> JSON:
        if not isinstance(statement, Call) or statement.name != "axis":
            raise self.error("expected axis { name '...'; values '...' }", statement.start)
        result: JSON = {}
        for field in self.require_block(statement, "axis { name '...'; values '...' }"):
            allowed = ("name", "values", "notValues") if exclude else ("name", "values")
            if not isinstance(field, Call) or field.name not in allowed or field.block:
                raise self.error("expected " + " or ".join(allowed) + " in 'axis'", field.start)
            if field.name == "name":
                if (
                    len(field.args) != 1
                    or not isinstance(field.args[0], Const)
                    or not isinstance(field.args[0].value, str)
                ):
                    raise self.error("an axis name is a plain string", field.start)
                result["name"] = field.args[0].value
            else:
                if "values" in result:
                    raise self.error("an axis takes one values or notValues line", field.start)
                if not field.args or any(isinstance(a, NamedArg) for a in field.args):
                    raise self.error(f"'{field.name}' takes one or more values", field.start)
                result["values"] = [self.value(a) for a in field.args if isinstance(a, Expr)]
                if field.name == "notValues":
                    result["inverse"] = True
        if "name" not in result or "values" not in result:
            raise self.error("an axis needs a name and values", statement.start)
        return result


_PIPELINE_JSON_ORDER = (
    "stages", "post", "environment", "agent", "tools", "options", "parameters", "triggers",
    "libraries",
)  # fmt: skip

_STAGE_JSON_ORDER = (
    "name", "agent", "when", "post", "tools", "environment", "options", "input", "axes",
    "excludes", "stages", "parallel", "matrix", "branches", "failFast",
)  # fmt: skip


def literal(value: str | int | float | bool | None) -> JSON:
    return {"isLiteral": True, "value": value}


def _first_line(text: str) -> str:
    line = text.split("\n", 1)[0].strip()
    return line if len(line) <= 60 else line[:57] + "..."


def _only_empty_label(arguments: list[JSON]) -> bool:
    return (
        len(arguments) == 1
        and arguments[0]["key"] == "label"
        and arguments[0]["value"] == literal("")
    )


def _as_text(expr: Const) -> str:
    value = expr.value
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _escape_gstring(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("\n", "\\n")


def _gstring_body(raw: str) -> str:
    """The inside of a double-quoted (or triple-quoted) GString's source."""
    for quote in ('"""', '"'):
        if raw.startswith(quote) and raw.endswith(quote) and len(raw) >= 2 * len(quote):
            return raw[len(quote) : -len(quote)]
    return raw


def find_pipeline(source: Source, tokens: list[Token]) -> int:
    """Index of the ``pipeline`` token of the top-level ``pipeline { }`` block.

    Also accepted: a ``pipeline`` block inside ``def call() { }`` (a shared-library step).
    A Jenkinsfile without one is a scripted pipeline.
    """
    depth = 0
    nested: int | None = None
    statement_start = True
    pending_call = False
    call_depth: int | None = None
    call_pipeline: int | None = None
    for index, token in enumerate(tokens):
        if token.kind is Kind.NEWLINE or (token.kind is Kind.OP and token.text == ";"):
            statement_start = True
            continue
        if token.kind is Kind.OP and token.text in ("{", "(", "["):
            depth += 1
            if token.text == "{" and pending_call and depth == 1:
                call_depth, pending_call = 1, False
        elif token.kind is Kind.OP and token.text in ("}", ")", "]"):
            depth -= 1
            if call_depth is not None and depth < call_depth:
                call_depth = None
        elif token.kind is Kind.NAME and statement_start and token.text == "pipeline":
            following = index + 1
            while tokens[following].kind is Kind.NEWLINE:
                following += 1
            opens = tokens[following].kind is Kind.OP and tokens[following].text == "{"
            if opens and depth == 0:
                return index
            if opens and call_depth is not None and call_pipeline is None:
                call_pipeline = index
            elif opens and nested is None:
                nested = token.start
        elif token.kind is Kind.NAME and token.text == "call" and depth == 0:
            pending_call = True
        statement_start = token.kind is Kind.OP and token.text in ("{", "}")
    if call_pipeline is not None:
        return call_pipeline
    if nested is not None:
        raise source.error(
            "the pipeline block must be at the top level of the Jenkinsfile, not inside "
            "another block",
            nested,
        )
    first = next((t for t in tokens if t.kind is not Kind.NEWLINE), tokens[-1])
    line, column = source.position(first.start)
    raise ScriptedPipelineError(
        "not a declarative pipeline: there is no top-level 'pipeline { ... }' block. "
        "This looks like a scripted pipeline, which the pipeline model (and the graphical "
        "editor) cannot hold; edit it as text",
        line,
        column,
    )


def _opens_block(tokens: list[Token], index: int) -> bool:
    while tokens[index].kind is Kind.NEWLINE:
        index += 1
    return tokens[index].kind is Kind.OP and tokens[index].text == "{"


def read_jenkinsfile(text: str) -> JSON:
    return Reader(text).read()
