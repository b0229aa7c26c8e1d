"""Path templates of `google.api.http`, parsed once at start.

Grammar (googleapis `google/api/http.proto`)::

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb     = ":" LITERAL ;

A template becomes a flat tuple of segments (literal, `*` or `**`) plus the variables, each
naming the span of segments it captures. `{name}` is `{name=*}`. `**` may only be the last
segment, variables do not nest. Matching works on the still percent-encoded path, one
`/`-separated component per segment, exactly like grpc-gateway's `MatchAndEscape`; values
are decoded afterwards (see `_codec.decode_path_value`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SegmentKind(Enum):
    LITERAL = "literal"
    STAR = "*"
    DOUBLE_STAR = "**"


@dataclass(frozen=True, slots=True)
class Segment:
    kind: SegmentKind
    literal: str = ""


@dataclass(frozen=True, slots=True)
class Variable:
    """A `{field.path=...}` capture: segments `start` up to `end` (`None`: to the end)."""

    field_path: tuple[str, ...]
    start: int
    end: int | None
    pattern: str

    @property
    def name(self) -> str:
        return ".".join(self.field_path)

    @property
    def single_segment(self) -> bool:
        return self.end == self.start + 1 and self.pattern == "*"


@dataclass(frozen=True, slots=True)
class PathTemplate:
    source: str
    segments: tuple[Segment, ...]
    variables: tuple[Variable, ...]
    verb: str


class TemplateError(ValueError):
    """A `google.api.http` path that does not follow the grammar."""


def parse_template(source: str) -> PathTemplate:
    """Parse a `google.api.http` path template."""
    if not source.startswith("/"):
        raise TemplateError(f"path template {source!r} must start with '/'")

    body, verb = _split_verb(source)
    segments: list[Segment] = []
    variables: list[Variable] = []

    for token in _split_segments(body[1:], source):
        if token.startswith("{"):
            variables.append(_parse_variable(token, len(segments), segments, source))
        else:
            segments.append(_parse_segment(token, source))

    for index, segment in enumerate(segments):
        if segment.kind is SegmentKind.DOUBLE_STAR and index != len(segments) - 1:
            raise TemplateError(f"'**' must be the last segment in {source!r}")

    return PathTemplate(source, tuple(segments), tuple(variables), verb)


def _split_verb(source: str) -> tuple[str, str]:
    """Separate a trailing `:verb` (a colon after the last `/` and outside any braces)."""
    tail_start = max(source.rfind("/"), source.rfind("}"))
    colon = source.find(":", tail_start + 1)
    if colon < 0:
        return source, ""

    verb = source[colon + 1 :]
    if not verb or "/" in verb or "{" in verb:
        raise TemplateError(f"bad verb in path template {source!r}")
    return source[:colon], verb


def _split_segments(path: str, source: str) -> list[str]:
    """Split on `/` outside braces, keeping each `{...}` variable as one token."""
    tokens: list[str] = []
    current: list[str] = []
    depth = 0

    for char in path:
        if char == "{":
            if depth:
                raise TemplateError(f"variables cannot nest in {source!r}")
            depth = 1
        elif char == "}":
            if not depth:
                raise TemplateError(f"unbalanced '}}' in {source!r}")
            depth = 0
        if char == "/" and not depth:
            tokens.append("".join(current))
            current = []
        else:
            current.append(char)

    if depth:
        raise TemplateError(f"unclosed '{{' in {source!r}")
    tokens.append("".join(current))
    return tokens


def _parse_segment(token: str, source: str) -> Segment:
    if token == "*":
        return Segment(SegmentKind.STAR)
    if token == "**":
        return Segment(SegmentKind.DOUBLE_STAR)
    if not token or any(char in token for char in "{}*"):
        raise TemplateError(f"bad segment {token!r} in {source!r}")
    return Segment(SegmentKind.LITERAL, token)


def _parse_variable(token: str, start: int, segments: list[Segment], source: str) -> Variable:
    inner = token[1:-1]
    field, _, pattern = inner.partition("=")
    pattern = pattern or "*"
    field_path = tuple(field.split("."))
    if not all(_IDENT.match(part) for part in field_path):
        raise TemplateError(f"bad field path {field!r} in {source!r}")

    for part in pattern.split("/"):
        segments.append(_parse_segment(part, source))

    end: int | None = len(segments)
    if segments[-1].kind is SegmentKind.DOUBLE_STAR:
        end = None
    return Variable(field_path, start, end, pattern)
