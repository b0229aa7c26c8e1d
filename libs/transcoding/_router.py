"""A compiled matcher from (HTTP method, path) to a binding.

One literal-segment trie per (HTTP method, custom verb). A request path is split on `/` once;
the walk follows the literal child and the `*` child of each node (both, since a literal can
be shadowed by a later-registered wildcard) and collects `**` routes on the way. Cost grows
with the path depth, not with the number of routes.

Precedence follows grpc-gateway v2's ServeMux: among all templates matching a request, the one
registered last wins (grpc-gateway prepends each handler and takes the first match); there is
no "most specific" rule. A template with a verb matches only a last component that ends in
`:verb` (the verb is cut off before matching), as in ServeMux.ServeHTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from libs.transcoding._template import PathTemplate, SegmentKind

T = TypeVar("T")


@dataclass(slots=True)
class _Node(Generic[T]):
    literals: dict[str, _Node[T]] = field(default_factory=dict)
    star: _Node[T] | None = None
    route: tuple[int, T] | None = None
    rest_route: tuple[int, T] | None = None  # a `**` ending here: matches any remainder


@dataclass(frozen=True, slots=True)
class Match(Generic[T]):
    route: T
    components: list[str]  # the path components the template matched, verb removed


class Router(Generic[T]):
    """Routes added with increasing priority; `match` returns the highest-priority route."""

    def __init__(self) -> None:
        self._tries: dict[str, dict[str, _Node[T]]] = {}
        self._count = 0

    def add(self, http_method: str, template: PathTemplate, route: T) -> None:
        self._count += 1
        entry = (self._count, route)
        node = self._tries.setdefault(http_method, {}).setdefault(template.verb, _Node())

        for segment in template.segments:
            if segment.kind is SegmentKind.DOUBLE_STAR:
                node.rest_route = entry
                return
            if segment.kind is SegmentKind.STAR:
                if node.star is None:
                    node.star = _Node()
                node = node.star
            else:
                node = node.literals.setdefault(segment.literal, _Node())
        node.route = entry

    def match(self, http_method: str, components: list[str]) -> Match[T] | None:
        tries = self._tries.get(http_method)
        if tries is None:
            return None

        best: tuple[int, T] | None = None
        best_components = components
        root = tries.get("")
        if root is not None:
            best = _search(root, components, 0)

        last = components[-1]
        if len(tries) > (root is not None) and ":" in last:
            for verb, verb_root in tries.items():
                cut = len(last) - len(verb) - 1
                if not verb or cut <= 0 or last[cut] != ":" or not last.endswith(verb):
                    continue
                stripped = [*components[:-1], last[:cut]]
                found = _search(verb_root, stripped, 0)
                if found is not None and (best is None or found[0] > best[0]):
                    best, best_components = found, stripped

        if best is None:
            return None
        return Match(best[1], best_components)

    def methods_matching(self, components: list[str]) -> list[str]:
        """The HTTP methods some template of which matches this path (for 405 vs 404)."""
        return [method for method in self._tries if self.match(method, components) is not None]


def _search(node: _Node[T], components: list[str], index: int) -> tuple[int, T] | None:
    best = node.rest_route
    if index == len(components):
        return _higher(best, node.route)

    child = node.literals.get(components[index])
    if child is not None:
        best = _higher(best, _search(child, components, index + 1))
    if node.star is not None:
        best = _higher(best, _search(node.star, components, index + 1))
    return best


def _higher(a: tuple[int, T] | None, b: tuple[int, T] | None) -> tuple[int, T] | None:
    if a is None:
        return b
    if b is None or a[0] >= b[0]:
        return a
    return b
