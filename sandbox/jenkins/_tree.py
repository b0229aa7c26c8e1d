"""The `tree=` and `depth=` query parameters of every Jenkins `api/json`.

Jenkins exports a model object with `@Exported` properties; `depth=N` decides how many levels
of nested objects are exported in full rather than as their short summary, and `tree=` keeps
only the named properties (`jobs[name,url,jobs[name]]`, with optional `{from,to}` ranges on
lists). Our exporters take a `depth` and return plain JSON values; this module parses a tree
spec, tells the exporter how deep it must go to answer it, and filters the result.

Two Jenkins details are kept: `_class` survives every tree filter, and a map-valued property
(like a credentials store's `domains`) applies the sub-tree to each value, not to the keys. Such
maps are marked by exporting them as `JsonMap`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class JsonMap(dict[str, Any]):
    """A map-valued exported property: a tree applies to its values, not its keys."""


class TreeError(ValueError):
    """A malformed `tree=` expression."""


@dataclass
class Tree:
    """One level of a parsed tree spec: property name -> its sub-tree (None = keep whole)."""

    properties: dict[str, Tree | None] = field(default_factory=dict)
    ranges: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)

    def depth(self) -> int:
        """How many nested levels this spec reaches."""
        inner = [sub.depth() for sub in self.properties.values() if sub is not None]
        return 1 + max(inner, default=0)


def parse_tree(text: str) -> Tree:
    """Parse `a,b[c,d{0,2}],e{1,}` into a `Tree`."""
    tree, end = _parse_level(text, 0)
    if end != len(text):
        raise TreeError(f"unexpected {text[end]!r} at {end} in tree={text}")
    return tree


def _parse_level(text: str, pos: int) -> tuple[Tree, int]:
    tree = Tree()

    while pos < len(text) and text[pos] != "]":
        start = pos
        while pos < len(text) and text[pos] not in ",[]{":
            pos += 1
        name = text[start:pos].strip()
        sub: Tree | None = None
        if pos < len(text) and text[pos] == "[":
            sub, pos = _parse_level(text, pos + 1)
            if pos >= len(text) or text[pos] != "]":
                raise TreeError(f"unclosed [ in tree={text}")
            pos += 1
        if pos < len(text) and text[pos] == "{":
            close = text.find("}", pos)
            if close < 0:
                raise TreeError(f"unclosed {{ in tree={text}")
            tree.ranges[name] = _parse_range(text[pos + 1 : close])
            pos = close + 1
        if name:
            tree.properties[name] = sub
        if pos < len(text) and text[pos] == ",":
            pos += 1

    return tree, pos


def _parse_range(text: str) -> tuple[int | None, int | None]:
    if "," not in text:
        index = int(text)
        return index, index + 1
    low, high = text.split(",", 1)
    return (int(low) if low.strip() else None, int(high) if high.strip() else None)


def apply_tree(value: Any, tree: Tree) -> Any:
    """Keep only what `tree` names in `value` (a JSON value from an exporter)."""
    if isinstance(value, JsonMap):
        return JsonMap({key: apply_tree(item, tree) for key, item in value.items()})
    if isinstance(value, list):
        return [apply_tree(item, tree) for item in value]
    if not isinstance(value, dict):
        return value

    kept: dict[str, Any] = {}
    if "_class" in value:
        kept["_class"] = value["_class"]
    for name, sub in tree.properties.items():
        if name not in value:
            continue
        item = value[name]
        if name in tree.ranges and isinstance(item, list):
            low, high = tree.ranges[name]
            item = item[low:high]
        kept[name] = item if sub is None else apply_tree(item, sub)
    return kept
