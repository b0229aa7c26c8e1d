"""Label and field selectors, parsed with the grammar of k8s.io/apimachinery.

Label selectors accept equality- and set-based requirements joined by commas:
`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`, and the numeric `a>1`,
`a<1`. As on a real server, `!=` and `notin` also match objects that lack the label, and a
malformed selector is a 400, not an empty result.

Field selectors accept `f=v`, `f==v` and `f!=v`. Custom resources support only
`metadata.name` and `metadata.namespace`; built-in kinds add the few fields their real
registries index (a Pod's `status.phase`, a Secret's `type`, an Event's `involvedObject.*`).
Any other field is a 400 `field label not supported`, which is what a client that relies on
an unsupported field would meet in production.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.kube._errors import bad_request

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_PREFIX = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_KEY_RE = re.compile(rf"^({_PREFIX}/)?{_NAME}$")
_VALUE_RE = re.compile(rf"^({_NAME})?$")
_TOKEN_RE = re.compile(r"\s*(==|!=|=|!|\(|\)|,|>|<|[^\s,()=!<>]+)")

_COMMON_FIELDS = ("metadata.name", "metadata.namespace")
_FIELDS_BY_KEY: dict[str, tuple[str, ...]] = {
    "pods": (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    "secrets": ("type",),
    "namespaces": ("status.phase",),
    "events": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    "replicasets.apps": ("status.replicas",),
}

Matcher = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Requirement:
    """One label requirement: key, operator and the values it compares with."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op in ("=", "==", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        # `>` and `<` compare integers; a label that is no integer never matches.
        if not present or value is None or not value.lstrip("-").isdigit():
            return False
        number, bound = int(value), int(self.values[0])
        return number > bound if self.op == ">" else number < bound


def _tokens(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise bad_request(f"unable to parse requirement: unexpected text at {text[pos:]!r}")
        tokens.append(match.group(1))
        pos = match.end()
    return tokens


def _check_key(key: str) -> str:
    if not _KEY_RE.match(key) or len(key) > 317:
        raise bad_request(f"unable to parse requirement: invalid label key {key!r}")
    return key


def _check_value(value: str) -> str:
    if not _VALUE_RE.match(value):
        raise bad_request(f"unable to parse requirement: invalid label value {value!r}")
    return value


def parse_label_selector(text: str) -> list[Requirement]:
    """The requirements of a `labelSelector` query parameter; an empty one selects all."""
    tokens = _tokens(text)
    requirements: list[Requirement] = []
    pos = 0

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise bad_request(f"unable to parse requirement: unexpected end of {text!r}")
        pos += 1
        return tokens[pos - 1]

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    while pos < len(tokens):
        token = take()
        if token == "!":
            requirements.append(Requirement(_check_key(take()), "!exists"))
        else:
            key = _check_key(token)
            op = peek()
            if op is None or op == ",":
                requirements.append(Requirement(key, "exists"))
            elif op in ("=", "==", "!="):
                take()
                value = "" if peek() in (None, ",") else take()
                requirements.append(Requirement(key, op, (_check_value(value),)))
            elif op in ("in", "notin"):
                take()
                if take() != "(":
                    raise bad_request(f"unable to parse requirement: expected '(' in {text!r}")
                values: list[str] = []
                while (item := take()) != ")":
                    if item != ",":
                        values.append(_check_value(item))
                requirements.append(Requirement(key, op, tuple(values)))
            elif op in (">", "<"):
                take()
                bound = take()
                if not bound.lstrip("-").isdigit():
                    raise bad_request(f"unable to parse requirement: {bound!r} is no integer")
                requirements.append(Requirement(key, op, (bound,)))
            else:
                raise bad_request(f"unable to parse requirement: unexpected {op!r} in {text!r}")

        after = peek()
        if after is not None:
            if after != ",":
                raise bad_request(f"unable to parse requirement: expected ',' in {text!r}")
            take()

    return requirements


def label_matcher(text: str | None) -> Matcher:
    """A predicate over whole objects for a `labelSelector` (None or empty: everything)."""
    requirements = parse_label_selector(text or "")

    def matches(obj: Mapping[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(r.matches(labels) for r in requirements)

    return matches


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, current, escaped = [], "", False
    for char in text:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == sep:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    if isinstance(node, bool):
        return "true" if node else "false"
    return "" if node is None else str(node)


def field_matcher(text: str | None, resource_key: str) -> Matcher:
    """A predicate for a `fieldSelector`, refusing fields the kind does not index."""
    allowed = _COMMON_FIELDS + _FIELDS_BY_KEY.get(resource_key, ())
    terms: list[tuple[str, bool, str]] = []
    for raw in _split_unescaped(text or "", ","):
        if not raw.strip():
            continue
        match = re.match(r"^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$", raw)
        if match is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{raw}'")
        field, op, value = match.groups()
        if field not in allowed:
            raise bad_request(f'field label not supported: "{field}"')
        terms.append((field, op != "!=", value))

    def matches(obj: Mapping[str, Any]) -> bool:
        return all((_field_value(obj, f) == v) is equal for f, equal, v in terms)

    return matches
