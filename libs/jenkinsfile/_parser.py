"""Recursive-descent parser for the Groovy that declarative Jenkinsfiles are made of.

A declarative Jenkinsfile is a tree of calls: ``name args { block }``. The parser reads
statements into a small syntax tree (:class:`Call`, :class:`Assign`, values) and keeps
only what the model needs. Everything else is an :class:`Expr` known by its source span,
because Jenkins's model holds such values as their source text (``isLiteral: false``).

Blocks whose content is free Groovy (``script { }``, ``expression { }``, closures inside
values, anything outside the ``pipeline`` block) are *skipped*: the parser matches their
braces on the token list without building anything, and records their span.

Statements end at a newline, a ``;`` or a ``}``, as in Groovy; a newline does not end a
statement inside brackets, after a binary operator or a comma, or before a line that starts
with ``.``/``?.`` (a method chain). A block may open on the next line (``stage('x')\\n{``)
to accept the Allman style people write.

Nesting is bounded (:data:`MAX_DEPTH`) so that hostile input fails with a
:class:`ConversionError` long before Python's own recursion limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from libs.jenkinsfile._errors import ConversionError
from libs.jenkinsfile._lexer import Kind, Source, Token, tokenize

MAX_DEPTH = 64

_BINARY = {
    "+", "-", "*", "/", "%", "**", "==", "!=", "<", ">", "<=", ">=", "<=>", "&&", "||",
    "&", "|", "^", "<<", ">>", ">>>", "=~", "==~", "..", "..<", "?:", "in", "instanceof",
    "as", "+=", "-=", "*=", "/=", "%=", "=", "&=", "|=", "^=", "<<=", ">>=", "**=",
}  # fmt: skip
_PREFIX = {"-", "+", "!", "~", "++", "--"}


@dataclass(slots=True)
class Expr:
    """Any expression, known by its source span."""

    start: int
    end: int


@dataclass(slots=True)
class Const(Expr):
    """A constant: a non-interpolating string, a number, a boolean or null."""

    value: str | int | float | bool | None = None


@dataclass(slots=True)
class GString(Expr):
    """An interpolating string; Jenkins keeps its raw source text."""


@dataclass(slots=True)
class Name(Expr):
    name: str = ""


@dataclass(slots=True)
class ListExpr(Expr):
    items: list[Expr] = field(default_factory=list)


@dataclass(slots=True)
class NamedArg:
    key: str
    key_start: int
    value: Expr

    @property
    def start(self) -> int:
        return self.key_start

    @property
    def end(self) -> int:
        return self.value.end


@dataclass(slots=True)
class MapExpr(Expr):
    entries: list[NamedArg] = field(default_factory=list)


@dataclass(slots=True)
class Binary(Expr):
    op: str = ""
    left: Expr | None = None
    right: Expr | None = None


@dataclass(slots=True)
class Block:
    """The inside of ``{ ... }``: statements, or only a span when skipped."""

    open: int  # offset of '{'
    close: int  # offset of the matching '}'
    statements: list[Statement] | None  # None: the block was skipped (free Groovy)
    # Span of the code inside: first token start to last token end (start == end if empty).
    code_start: int = 0
    code_end: int = 0
    open_index: int = 0  # index of the '{' token, to parse a skipped block later


@dataclass(slots=True)
class Closure(Expr):
    block: Block | None = None


@dataclass(slots=True)
class Call(Expr):
    """``name(args) { block }`` or the command form ``name arg, key: value``."""

    name: str = ""
    name_start: int = 0
    args: list[Expr | NamedArg] = field(default_factory=list)
    block: Block | None = None
    parens: bool = False


@dataclass(slots=True)
class Assign:
    start: int
    end: int
    target: str
    target_start: int
    value: Expr


@dataclass(slots=True)
class Other:
    """A statement that is not a call or an assignment (``def x = 1``, ``if``...)."""

    start: int
    end: int


Statement = Call | Assign | Other | Expr


class Parser:
    """Parses declarative sections; ``skip_blocks`` names calls whose block is free Groovy."""

    def __init__(self, source: Source, tokens: list[Token] | None = None) -> None:
        self.source = source
        self.tokens = tokens if tokens is not None else tokenize(source)
        self.index = 0
        self.depth = 0

    # -- token helpers ---------------------------------------------------------------

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def peek(self, offset: int = 1) -> Token:
        index = min(self.index + offset, len(self.tokens) - 1)
        return self.tokens[index]

    def at_op(self, *ops: str) -> bool:
        token = self.tokens[self.index]
        return token.kind is Kind.OP and token.text in ops

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not Kind.EOF:
            self.index += 1
        return token

    def skip_newlines(self) -> None:
        while self.tokens[self.index].kind is Kind.NEWLINE:
            self.index += 1

    def previous_end(self) -> int:
        index = self.index - 1
        while index > 0 and self.tokens[index].kind is Kind.NEWLINE:
            index -= 1
        return self.tokens[index].end if index >= 0 else 0

    def error(self, message: str, offset: int | None = None) -> ConversionError:
        return self.source.error(message, self.token.start if offset is None else offset)

    def describe(self, token: Token) -> str:
        if token.kind is Kind.EOF:
            return "the end of the file"
        if token.kind is Kind.NEWLINE:
            return "the end of the line"
        text = token.text if len(token.text) <= 30 else token.text[:27] + "..."
        return repr(text)

    def expect_op(self, op: str, context: str) -> Token:
        if not self.at_op(op):
            raise self.error(f"expected '{op}' {context}, found {self.describe(self.token)}")
        return self.advance()

    def enter(self, offset: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nesting deeper than {MAX_DEPTH} levels", offset)

    def leave(self) -> None:
        self.depth -= 1

    # -- blocks ----------------------------------------------------------------------

    def skip_block(self) -> Block:
        """Match the braces of the block at the current '{' without parsing it."""
        open_index = self.index
        open_token = self.expect_op("{", "to open a block")
        depth = 1
        first: Token | None = None
        last: Token | None = None
        while True:
            token = self.advance()
            if token.kind is Kind.EOF:
                raise self.error(
                    "unterminated block: add the '}' closing the '{' opened here",
                    open_token.start,
                )
            if token.kind is Kind.NEWLINE:
                continue
            if token.kind is Kind.OP and token.text == "{":
                depth += 1
            elif token.kind is Kind.OP and token.text == "}":
                depth -= 1
                if depth == 0:
                    code_start = first.start if first else token.start
                    code_end = last.end if last else token.start
                    return Block(
                        open_token.start, token.start, None, code_start, code_end, open_index
                    )
            if first is None:
                first = token
            last = token

    def parse_block(self, skip: frozenset[str] = frozenset()) -> Block:
        """Parse ``{ statements }``; calls named in ``skip`` get their own block skipped."""
        open_index = self.index
        open_token = self.expect_op("{", "to open a block")
        self.enter(open_token.start)
        statements: list[Statement] = []

        while True:
            self.skip_newlines()
            while self.at_op(";"):
                self.advance()
                self.skip_newlines()
            if self.at_op("}"):
                close = self.advance()
                break
            if self.token.kind is Kind.EOF:
                raise self.error(
                    "unterminated block: add the '}' closing the '{' opened here",
                    open_token.start,
                )
            statement = self.parse_statement(skip)
            statements.append(statement)
            ended_by_block = isinstance(statement, Call) and statement.block is not None
            if not (
                ended_by_block
                or self.token.kind in (Kind.NEWLINE, Kind.EOF)
                or self.at_op(";", "}")
            ):
                raise self.error(
                    f"unexpected {self.describe(self.token)}: put one statement on each line"
                )

        self.leave()
        code_start = statements[0].start if statements else close.start
        code_end = statements[-1].end if statements else close.start
        return Block(open_token.start, close.start, statements, code_start, code_end, open_index)

    # -- statements ------------------------------------------------------------------

    def parse_statement(self, skip: frozenset[str]) -> Statement:
        token = self.token
        if token.kind is Kind.NAME and token.text not in _STATEMENT_KEYWORDS:
            following = self.peek()
            if following.kind is Kind.OP and following.text == "=" and not self._is_op_at(2, "="):
                return self._assignment()
            if following.kind is Kind.OP and following.text in ("(", "{"):
                return self._call(skip)
            if self._starts_command_argument(following):
                return self._command(skip)
            if following.kind is Kind.NEWLINE and self._block_follows_newline():
                return self._call(skip)
        if token.kind is Kind.NAME and token.text in _STATEMENT_KEYWORDS:
            return self._other_statement()
        expr = self.parse_expression()
        return expr

    def _is_op_at(self, offset: int, op: str) -> bool:
        token = self.peek(offset)
        return token.kind is Kind.OP and token.text == op

    def _block_follows_newline(self) -> bool:
        """``name`` alone on a line followed by a line starting with '{' (Allman style)."""
        index = self.index + 1
        while self.tokens[index].kind is Kind.NEWLINE:
            index += 1
        token = self.tokens[index]
        return token.kind is Kind.OP and token.text == "{"

    def _starts_command_argument(self, token: Token) -> bool:
        if token.kind in (Kind.STRING, Kind.NUMBER):
            return True
        if token.kind is Kind.NAME:
            return token.text not in ("in", "instanceof", "as")
        return False

    def _assignment(self) -> Assign:
        target = self.advance()
        self.advance()  # '='
        self.skip_newlines()
        value = self.parse_expression()
        return Assign(target.start, value.end, target.text, target.start, value)

    def _call(self, skip: frozenset[str]) -> Statement:
        name = self.advance()
        call = Call(name.start, name.end, name.text, name.start)
        if self.at_op("("):
            call.parens = True
            call.args = self._arguments(")", name.start)
            call.end = self.previous_end()
        # A trailing block, possibly on the next line.
        if self.token.kind is Kind.NEWLINE and self._block_follows_newline():
            self.skip_newlines()
        if self.at_op("{"):
            call.block = self.skip_block() if name.text in skip else self.parse_block(skip)
            call.end = call.block.close + 1
        elif call.parens and self._continues_expression():
            return self._continue_expression(call)
        return call

    def _continues_expression(self) -> bool:
        token = self.token
        return token.kind is Kind.OP and (token.text in _BINARY or token.text in (".", "?.", "["))

    def _continue_expression(self, head: Expr) -> Expr:
        expr = self._postfix(head)
        return self._binary_rest(expr)

    def _command(self, skip: frozenset[str]) -> Call:
        name = self.advance()
        call = Call(name.start, name.end, name.text, name.start)
        while True:
            call.args.append(self._argument())
            if not self.at_op(","):
                break
            self.advance()
            self.skip_newlines()
        call.end = self.previous_end()
        if self.at_op("{"):
            call.block = self.skip_block() if name.text in skip else self.parse_block(skip)
            call.end = call.block.close + 1
        return call

    def _other_statement(self) -> Other:
        """A Groovy statement the model has no place for: skip to the end of it."""
        start = self.token.start
        depth = 0
        while True:
            token = self.token
            if token.kind is Kind.EOF:
                break
            if token.kind is Kind.OP and token.text in ("(", "[", "{"):
                depth += 1
            elif token.kind is Kind.OP and token.text in (")", "]", "}"):
                if depth == 0:
                    break
                depth -= 1
            elif (
                depth == 0
                and (token.kind is Kind.NEWLINE or token.text == ";")
                and not self._line_continues()
            ):
                break
            self.advance()
        return Other(start, self.previous_end())

    def _line_continues(self) -> bool:
        """At a newline inside a free statement: does the statement go on (else, catch...)?"""
        index = self.index
        while self.tokens[index].kind is Kind.NEWLINE:
            index += 1
        following = self.tokens[index]
        previous = self.tokens[self.index - 1]
        if following.kind is Kind.NAME and following.text in ("else", "catch", "finally"):
            return True
        if following.kind is Kind.OP and following.text in (".", "?.", "{"):
            return True
        return previous.kind is Kind.OP and previous.text in _BINARY | {",", "(", "["}

    # -- arguments -------------------------------------------------------------------

    def _arguments(self, closer: str, opened_at: int) -> list[Expr | NamedArg]:
        """Read ``(a, key: b, ...)`` up to ``closer``; the opener is the current token."""
        self.advance()
        self.enter(opened_at)
        args: list[Expr | NamedArg] = []
        self.skip_newlines()
        while not self.at_op(closer):
            if self.token.kind is Kind.EOF:
                raise self.error(
                    f"unterminated argument list: add the closing '{closer}'", opened_at
                )
            args.append(self._argument())
            self.skip_newlines()
            if self.at_op(","):
                self.advance()
                self.skip_newlines()
            elif not self.at_op(closer):
                raise self.error(
                    f"expected ',' or '{closer}' in the argument list, "
                    f"found {self.describe(self.token)}"
                )
        self.advance()
        self.leave()
        return args

    def _argument(self) -> Expr | NamedArg:
        token = self.token
        following = self.peek()
        is_key = token.kind in (Kind.NAME, Kind.STRING, Kind.NUMBER)
        if is_key and following.kind is Kind.OP and following.text == ":":
            self.advance()
            self.advance()
            self.skip_newlines()
            key = token.text if token.kind is not Kind.STRING else str(token.value)
            return NamedArg(key, token.start, self.parse_expression())
        return self.parse_expression()

    # -- expressions -----------------------------------------------------------------

    def parse_expression(self) -> Expr:
        self.enter(self.token.start)
        expr = self._binary_rest(self._unary())
        if self.at_op("?"):
            self.advance()
            self.skip_newlines()
            self.parse_expression()
            self.skip_newlines()
            self.expect_op(":", "in the conditional expression")
            self.skip_newlines()
            other = self.parse_expression()
            expr = Expr(expr.start, other.end)
        self.leave()
        return expr

    def _binary_rest(self, left: Expr) -> Expr:
        while True:
            token = self.token
            is_operator = (token.kind is Kind.OP and token.text in _BINARY) or (
                token.kind is Kind.NAME and token.text in ("in", "instanceof", "as")
            )
            if not is_operator:
                return left
            self.advance()
            self.skip_newlines()
            right = self._unary()
            if (
                token.text == "+"
                and isinstance(left, Const | GString | Binary)
                and isinstance(right, Const | GString)
            ):
                left = Binary(left.start, right.end, "+", left, right)
            else:
                left = Expr(left.start, right.end)

    def _unary(self) -> Expr:
        token = self.token
        if token.kind is Kind.OP and token.text in _PREFIX:
            self.advance()
            operand = self._unary()
            if (
                token.text == "-"
                and isinstance(operand, Const)
                and type(operand.value)
                in (
                    int,
                    float,
                )
            ):
                value = operand.value
                assert isinstance(value, int | float)
                return Const(token.start, operand.end, -value)
            return Expr(token.start, operand.end)
        return self._postfix(self._primary())

    def _postfix(self, expr: Expr) -> Expr:
        while True:
            token = self.token
            if token.kind is Kind.NEWLINE:
                # A chain may go on at a line starting with '.' or '?.'.
                index = self.index
                while self.tokens[index].kind is Kind.NEWLINE:
                    index += 1
                following = self.tokens[index]
                if following.kind is Kind.OP and following.text in (".", "?.", "*."):
                    self.index = index
                    continue
                return expr
            if token.kind is not Kind.OP:
                return expr
            if token.text in (".", "?.", "*.", ".&", ".@", "::"):
                self.advance()
                self.skip_newlines()
                member = self.advance()
                if member.kind not in (Kind.NAME, Kind.STRING):
                    raise self.error(f"expected a name after '{token.text}'", member.start)
                expr = Expr(expr.start, member.end)
            elif token.text == "(":
                args = self._arguments(")", token.start)
                end = self.previous_end()
                if isinstance(expr, Name):
                    expr = Call(expr.start, end, expr.name, expr.start, args, None, True)
                else:
                    expr = Expr(expr.start, end)
                if self.at_op("{"):
                    block = self.skip_block()
                    expr = Expr(expr.start, block.close + 1)
            elif token.text == "[":
                self._arguments("]", token.start)
                expr = Expr(expr.start, self.previous_end())
            elif token.text == "{" and isinstance(expr, Name | Call):
                block = self.skip_block()
                expr = Expr(expr.start, block.close + 1)
            elif token.text in ("++", "--"):
                self.advance()
                expr = Expr(expr.start, token.end)
            else:
                return expr

    def _primary(self) -> Expr:
        token = self.token
        if token.kind is Kind.STRING:
            self.advance()
            if token.interpolated:
                return GString(token.start, token.end)
            return Const(token.start, token.end, token.value)
        if token.kind is Kind.NUMBER:
            self.advance()
            return Const(token.start, token.end, token.value)
        if token.kind is Kind.NAME:
            self.advance()
            if token.text == "true":
                return Const(token.start, token.end, True)
            if token.text == "false":
                return Const(token.start, token.end, False)
            if token.text == "null":
                return Const(token.start, token.end, None)
            if token.text == "new":
                return self._new(token)
            return Name(token.start, token.end, token.text)
        if token.kind is Kind.OP and token.text == "(":
            self.advance()
            self.enter(token.start)
            self.skip_newlines()
            self.parse_expression()
            self.skip_newlines()
            self.expect_op(")", "to close the parenthesis")
            self.leave()
            return Expr(token.start, self.previous_end())
        if token.kind is Kind.OP and token.text == "[":
            return self._list_or_map()
        if token.kind is Kind.OP and token.text == "{":
            block = self.skip_block()
            return Closure(token.start, block.close + 1, block)
        raise self.error(f"expected a value, found {self.describe(token)}")

    def _new(self, keyword: Token) -> Expr:
        end = keyword.end
        while self.token.kind is Kind.NAME or self.at_op("."):
            end = self.advance().end
        if self.at_op("("):
            self._arguments(")", self.token.start)
            end = self.previous_end()
        return Expr(keyword.start, end)

    def _list_or_map(self) -> Expr:
        open_token = self.token
        if self._is_op_at(1, ":") and self._is_op_at(2, "]"):
            self.advance()
            self.advance()
            close = self.advance()
            return MapExpr(open_token.start, close.end)
        args = self._arguments("]", open_token.start)
        end = self.previous_end()
        named = [a for a in args if isinstance(a, NamedArg)]
        if named and len(named) == len(args):
            return MapExpr(open_token.start, end, named)
        if named:
            raise self.error("a list cannot hold key: value entries", open_token.start)
        return ListExpr(open_token.start, end, [a for a in args if isinstance(a, Expr)])


_STATEMENT_KEYWORDS = {
    "def", "if", "else", "for", "while", "do", "switch", "try", "catch", "finally",
    "return", "throw", "break", "continue", "import", "class", "interface", "enum",
    "final", "static", "private", "public", "protected", "abstract", "synchronized",
    "assert", "package",
}  # fmt: skip
