"""Tokenizer for the subset of Groovy that Jenkinsfiles are written in.

The lexer turns the text into a flat list of tokens and drops comments and spaces: the
parser never needs them, and the printer recovers them from the source text between two
tokens' offsets. Every token keeps its start and end offsets, which is what error messages
(line and column) and the comment-keeping round trip are built on.

Groovy has five string forms and the lexer reads them all: ``'single'``, ``'''triple'''``,
``"double"`` and ``\"\"\"triple double\"\"\"`` (interpolated when they hold ``$name`` or
``${...}``), ``/slashy/`` and ``$/dollar slashy/$``. A string token carries its decoded value
and whether it interpolates; Jenkins's model treats an interpolating string as an expression
(``isLiteral: false``, raw source text) and any other string as a literal. ``${...}`` may
hold any code, including further strings and braces, so the lexer reads it by lexing
tokens recursively until the matching ``}``.

Whether ``/`` starts a slashy string or divides depends on the token before it, as in
Groovy: after a value (name, number, string, closing bracket) it divides.

Hostile input fails fast: an unterminated string or comment is reported at its start, and
``${`` nesting is bounded.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from enum import Enum

from libs.jenkinsfile._errors import ConversionError

MAX_INTERPOLATION_DEPTH = 32
# Far beyond any real Jenkinsfile (script blocks included), small enough to fail fast.
MAX_BRACKET_DEPTH = 256

# Longest first, so that a prefix never shadows a longer operator.
_OPERATORS = sorted(
    [
        ">>>=", "<=>", ">>>", "==~", "**=", "<<=", ">>=", "..<", "?.", "*.", ".&", ".@",
        "?:", "..", "->", "==", "!=", "<=", ">=", "&&", "||", "++", "--", "+=", "-=",
        "*=", "/=", "%=", "&=", "|=", "^=", "=~", "<<", ">>", "**", "::",
        "{", "}", "(", ")", "[", "]", ",", ";", ":", ".", "=", "+", "-", "*", "/", "%",
        "<", ">", "!", "~", "?", "&", "|", "^", "@",
    ],
    key=len,
    reverse=True,
)  # fmt: skip

# Operators by their first character, longest first.
_OPERATORS_BY_CHAR: dict[str, list[str]] = {}
for _operator in _OPERATORS:
    _OPERATORS_BY_CHAR.setdefault(_operator[0], []).append(_operator)

# The characters that end a run of plain text inside each kind of string.
_STOPS = {
    "'": re.compile(r"['\\\n]"),
    '"': re.compile(r'["\\\n$]'),
}

_SIMPLE_ESCAPES = {
    "n": "\n", "t": "\t", "b": "\b", "f": "\f", "r": "\r", "s": " ",
    "\\": "\\", "'": "'", '"': '"', "$": "$",
}  # fmt: skip

# After these tokens a '/' divides; anywhere else it opens a slashy string.
_VALUE_KEYWORDS = {"this", "super", "true", "false", "null"}


class Kind(Enum):
    NAME = "name"
    NUMBER = "number"
    STRING = "string"
    OP = "op"
    NEWLINE = "newline"
    EOF = "eof"


@dataclass(slots=True)
class Token:
    kind: Kind
    start: int
    end: int
    text: str
    # Decoded value of a STRING (str) or NUMBER (int or float).
    value: str | int | float | None = None
    # A STRING holding $name or ${...}: a Groovy GString, not a constant.
    interpolated: bool = False


class Source:
    """The text and a line index, for turning offsets into line and column."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._line_starts = [0]
        position = text.find("\n")
        while position != -1:
            self._line_starts.append(position + 1)
            position = text.find("\n", position + 1)

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of an offset."""
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def line_start(self, offset: int) -> int:
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return self._line_starts[line]

    def column0(self, offset: int) -> int:
        """0-based column of an offset."""
        return offset - self.line_start(offset)

    def error(self, message: str, offset: int) -> ConversionError:
        line, column = self.position(offset)
        return ConversionError(message, line, column)


def _is_name_start(char: str) -> bool:
    return char.isalpha() or char == "_" or char == "$"


def _is_name_char(char: str) -> bool:
    return char.isalnum() or char == "_" or char == "$"


class Lexer:
    """Reads tokens from a :class:`Source`; :meth:`tokens` returns them all."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.text = source.text
        self.length = len(source.text)

    def tokens(self) -> list[Token]:
        result: list[Token] = []
        position = 0
        if self.text.startswith("#!"):
            position = self._end_of_line(0)

        brackets: list[int] = []
        while True:
            token, position = self._next(position, result[-1] if result else None, 0)
            if token.kind is Kind.NEWLINE and result and result[-1].kind is Kind.NEWLINE:
                continue
            if token.kind is Kind.OP and token.text in "({[":
                brackets.append(token.start)
                if len(brackets) > MAX_BRACKET_DEPTH:
                    raise self.source.error(
                        f"brackets nested deeper than {MAX_BRACKET_DEPTH} levels", token.start
                    )
            elif token.kind is Kind.OP and token.text in ")}]" and brackets:
                brackets.pop()
            result.append(token)
            if token.kind is Kind.EOF:
                return result

    def _end_of_line(self, position: int) -> int:
        end = self.text.find("\n", position)
        return self.length if end == -1 else end

    def _skip_space(self, position: int) -> tuple[int, bool]:
        """Skip spaces and comments; report whether a line ended on the way."""
        text = self.text
        newline = False
        while position < self.length:
            char = text[position]
            if char == "\n":
                newline = True
                position += 1
            elif char in " \t\r\f\ufeff":
                position += 1
            elif char == "\\" and text.startswith("\n", position + 1):
                position += 2  # an explicit line continuation
            elif text.startswith("//", position):
                position = self._end_of_line(position)
            elif text.startswith("/*", position):
                end = text.find("*/", position + 2)
                if end == -1:
                    raise self.source.error("unterminated /* comment: add the closing */", position)
                newline = newline or "\n" in text[position:end]
                position = end + 2
            else:
                break
        return position, newline

    def _next(self, position: int, previous: Token | None, depth: int) -> tuple[Token, int]:
        start, newline = self._skip_space(position)
        if newline:
            return Token(Kind.NEWLINE, start, start, "\n"), start
        if start >= self.length:
            return Token(Kind.EOF, self.length, self.length, ""), self.length

        text = self.text
        char = text[start]
        if text.startswith("$/", start):
            return self._dollar_slashy(start, depth)
        if _is_name_start(char):
            end = start + 1
            while end < self.length and _is_name_char(text[end]):
                end += 1
            return Token(Kind.NAME, start, end, text[start:end]), end
        if char.isdigit() or (char == "." and text[start + 1 : start + 2].isdigit()):
            return self._number(start)
        if char in "'\"":
            return self._quoted(start, depth)
        if char == "/" and not self._divides(previous):
            return self._slashy(start, depth)

        for operator in _OPERATORS_BY_CHAR.get(char, ()):
            if text.startswith(operator, start):
                end = start + len(operator)
                return Token(Kind.OP, start, end, operator), end
        raise self.source.error(f"unexpected character {char!r}", start)

    @staticmethod
    def _divides(previous: Token | None) -> bool:
        if previous is None:
            return False
        if previous.kind in (Kind.NUMBER, Kind.STRING):
            return True
        if previous.kind is Kind.NAME:
            return previous.text in _VALUE_KEYWORDS or previous.text not in _KEYWORDS
        return previous.kind is Kind.OP and previous.text in (")", "]", "}", "++", "--")

    def _number(self, start: int) -> tuple[Token, int]:
        text = self.text
        end = start
        if text.startswith(("0x", "0X"), start):
            end = start + 2
            while end < self.length and (text[end].isalnum() or text[end] == "_"):
                end += 1
            raw = text[start:end].replace("_", "").rstrip("lLgGiI")
            try:
                return Token(Kind.NUMBER, start, end, text[start:end], int(raw, 16)), end
            except ValueError:
                raise self.source.error(f"malformed number {text[start:end]!r}", start) from None

        is_float = False
        while end < self.length and (text[end].isdigit() or text[end] == "_"):
            end += 1
        if text.startswith(".", end) and text[end + 1 : end + 2].isdigit():
            is_float = True
            end += 1
            while end < self.length and (text[end].isdigit() or text[end] == "_"):
                end += 1
        if end < self.length and text[end] in "eE":
            exponent = end + 1
            if exponent < self.length and text[exponent] in "+-":
                exponent += 1
            if exponent < self.length and text[exponent].isdigit():
                is_float = True
                end = exponent
                while end < self.length and text[end].isdigit():
                    end += 1
        digits = text[start:end].replace("_", "")
        if end < self.length and text[end] in "lLiIgGdDfF":
            is_float = is_float or text[end] in "dDfF"
            end += 1
        if end < self.length and _is_name_char(text[end]):
            raise self.source.error(f"malformed number {text[start : end + 1]!r}", start)
        value: int | float = float(digits) if is_float else int(digits)
        return Token(Kind.NUMBER, start, end, text[start:end], value), end

    def _quoted(self, start: int, depth: int) -> tuple[Token, int]:
        text = self.text
        quote = text[start]
        triple = text.startswith(quote * 3, start)
        delimiter = quote * 3 if triple else quote
        position = start + len(delimiter)
        parts: list[str] = []
        interpolated = False
        kind = "single" if quote == "'" else "double"
        stops = _STOPS[quote]

        while True:
            if position >= self.length:
                raise self.source.error(f"unterminated string: add the closing {delimiter}", start)
            char = text[position]
            if text.startswith(delimiter, position):
                end = position + len(delimiter)
                value = "".join(parts)
                token = Token(Kind.STRING, start, end, text[start:end], value, interpolated)
                return token, end
            if char == "\n" and not triple:
                raise self.source.error(
                    f"unterminated string: add the closing {delimiter} before the end of the "
                    "line, or use a triple-quoted string for text on several lines",
                    start,
                )
            if char == "\\":
                decoded, position = self._escape(position)
                parts.append(decoded)
                continue
            if char == "$" and kind == "double":
                position = self._interpolation(position, depth)
                interpolated = True
                continue
            stop = stops.search(text, position + 1)
            end = stop.start() if stop else self.length
            parts.append(text[position:end])
            position = end

    def _escape(self, position: int) -> tuple[str, int]:
        text = self.text
        following = text[position + 1 : position + 2]
        if following in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[following], position + 2
        if following == "\n":
            return "", position + 2
        if following == "u":
            digits = text[position + 2 : position + 6]
            if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
                return chr(int(digits, 16)), position + 6
            raise self.source.error(
                "malformed unicode escape: expected \\u and 4 hex digits", position
            )
        if following and following in "01234567":
            end = position + 1
            while end < self.length and end < position + 4 and text[end] in "01234567":
                end += 1
            return chr(int(text[position + 1 : end], 8) & 0xFF), end
        raise self.source.error(
            f"unknown escape \\{following} in a string: write \\\\ for a backslash", position
        )

    def _interpolation(self, position: int, depth: int) -> int:
        """Skip ``$name.path`` or ``${ code }`` inside a string; return the offset after it."""
        text = self.text
        following = text[position + 1 : position + 2]
        if following == "{":
            return self._skip_code(position + 2, depth + 1, position)
        if following and _is_name_start(following) and following != "$":
            end = position + 1
            while True:
                while end < self.length and _is_name_char(text[end]) and text[end] != "$":
                    end += 1
                if (
                    text.startswith(".", end)
                    and end + 1 < self.length
                    and (_is_name_start(text[end + 1]) and text[end + 1] != "$")
                ):
                    end += 1
                    continue
                return end
        raise self.source.error(
            'a "$" in a double-quoted string must start ${expression} or $name: '
            "write \\$ for a dollar sign",
            position,
        )

    def _skip_code(self, position: int, depth: int, opened_at: int) -> int:
        """Lex code up to the '}' closing an interpolation or a bounded nesting."""
        if depth > MAX_INTERPOLATION_DEPTH:
            raise self.source.error("strings nested too deeply inside ${...}", opened_at)
        braces = 0
        previous: Token | None = None
        while True:
            token, position = self._next(position, previous, depth)
            if token.kind is Kind.EOF:
                raise self.source.error("unterminated ${ in a string: add the closing }", opened_at)
            if token.kind is Kind.OP and token.text == "{":
                braces += 1
            elif token.kind is Kind.OP and token.text == "}":
                if braces == 0:
                    return token.end
                braces -= 1
            if token.kind is not Kind.NEWLINE:
                previous = token

    def _slashy(self, start: int, depth: int) -> tuple[Token, int]:
        text = self.text
        position = start + 1
        parts: list[str] = []
        interpolated = False
        while True:
            if position >= self.length:
                raise self.source.error("unterminated slashy string: add the closing /", start)
            char = text[position]
            if char == "/":
                end = position + 1
                return Token(
                    Kind.STRING, start, end, text[start:end], "".join(parts), interpolated
                ), end
            if char == "\\" and text.startswith("/", position + 1):
                parts.append("/")
                position += 2
                continue
            if char == "$" and self._starts_interpolation(position):
                position = self._interpolation(position, depth)
                interpolated = True
                continue
            parts.append(char)
            position += 1

    def _dollar_slashy(self, start: int, depth: int) -> tuple[Token, int]:
        text = self.text
        position = start + 2
        parts: list[str] = []
        interpolated = False
        while True:
            if position >= self.length:
                raise self.source.error("unterminated $/ string: add the closing /$", start)
            if text.startswith("/$", position):
                end = position + 2
                return Token(
                    Kind.STRING, start, end, text[start:end], "".join(parts), interpolated
                ), end
            if text.startswith("$$", position) or text.startswith("$/", position):
                parts.append(text[position + 1])
                position += 2
                continue
            if text[position] == "$" and self._starts_interpolation(position):
                position = self._interpolation(position, depth)
                interpolated = True
                continue
            parts.append(text[position])
            position += 1

    def _starts_interpolation(self, position: int) -> bool:
        following = self.text[position + 1 : position + 2]
        return following == "{" or (
            bool(following) and _is_name_start(following) and following != "$"
        )


_KEYWORDS = {
    "as", "assert", "break", "case", "catch", "class", "const", "continue", "def", "default",
    "do", "else", "enum", "extends", "finally", "for", "goto", "if", "implements", "import",
    "in", "instanceof", "interface", "new", "package", "return", "switch", "throw", "throws",
    "try", "while",
}  # fmt: skip


def tokenize(source: Source) -> list[Token]:
    return Lexer(source).tokens()


_CLOSERS = {"(": ")", "[": "]", "{": "}"}


def check_brackets(source: Source, tokens: list[Token]) -> None:
    """Every bracket closes the last one opened, and every one opened is closed."""
    opened: list[Token] = []
    for token in tokens:
        if token.kind is not Kind.OP:
            continue
        if token.text in _CLOSERS:
            opened.append(token)
        elif token.text in (")", "]", "}"):
            if not opened:
                raise source.error(
                    f"'{token.text}' closes nothing: remove it or add the opening bracket",
                    token.start,
                )
            last = opened.pop()
            if _CLOSERS[last.text] != token.text:
                line, column = source.position(last.start)
                raise source.error(
                    f"'{token.text}' does not close the '{last.text}' at line {line}, "
                    f"column {column}",
                    token.start,
                )
    if opened:
        last = opened[-1]
        raise source.error(
            f"'{last.text}' is never closed: add the '{_CLOSERS[last.text]}'", last.start
        )
