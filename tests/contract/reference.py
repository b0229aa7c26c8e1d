"""The two sides the contract tests compare: the published document and our descriptors.

The document and `api-scope.md` are read from `WORKBENCH_REFERENCE` (default
`/work/shared/reference`); the descriptors come from the generated `_pb2` modules under `gen/`
(`make gen`), exactly as the servers load them.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from google.protobuf import descriptor, descriptor_pb2

REFERENCE = Path(os.environ.get("WORKBENCH_REFERENCE", "/work/shared/reference"))
DOCUMENT = REFERENCE / "amamba-openapi-v0.132.0.json"
SCOPE = REFERENCE / "api-scope.md"
GEN = Path(__file__).resolve().parents[2] / "gen"

# Jenkins posts its events to devops-server over plain HTTP; that endpoint has no proto.
PLAIN_HTTP_PREFIX = "/apis/internel.amamba.io/"


@dataclass(frozen=True)
class Operation:
    operation_id: str
    verb: str
    path: str


@dataclass(frozen=True)
class Extension:
    what: str
    verb: str
    path: str
    exchange: str  # the "body → answer" cell


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


def _cells(line: str) -> list[str]:
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line)[1:-1]]


@cache
def scope_operations() -> tuple[Operation, ...]:
    """The rows of the 'Operations in scope now' table."""
    text = SCOPE.read_text(encoding="utf-8")
    section = text.split("## Operations in scope now", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = _cells(line) if line.startswith("| ") else []
        if len(cells) == 3 and re.fullmatch(r"\w+_\w+", cells[0]):
            rows.append(Operation(cells[0], cells[1].lower(), cells[2].strip("`")))
    return tuple(rows)


@cache
def scope_extensions() -> tuple[Extension, ...]:
    """The endpoints of the 'Extensions' table, abbreviated paths written out."""
    text = SCOPE.read_text(encoding="utf-8")
    section = text.split("## Extensions", 1)[1]
    rows = []
    for line in section.splitlines():
        cells = _cells(line) if line.startswith("| ") else []
        if len(cells) != 3 or cells[0] in ("what", "---"):
            continue
        previous = ""
        for verb, path in re.findall(r"`(GET|POST|PUT|DELETE|PATCH) ([^`]+)`", cells[1]):
            if path.startswith(".../"):
                rest = path[3:]
                head = "/" + rest.split("/")[1]
                path = previous[: previous.rindex(head)] + rest
            previous = path
            rows.append(Extension(cells[0], verb.lower(), path, cells[2]))
    return tuple(rows)


@cache
def compiled_files() -> tuple[descriptor_pb2.FileDescriptorProto, ...]:
    """Our compiled files and everything they import, as FileDescriptorProtos."""
    roots: list[descriptor.FileDescriptor] = []
    for module_path in sorted((GEN / "amamba").rglob("*_pb2.py")):
        name = ".".join(module_path.relative_to(GEN).with_suffix("").parts)
        roots.append(importlib.import_module(name).DESCRIPTOR)
    if not roots:
        raise RuntimeError(f"no generated modules under {GEN}: run `make gen` first")

    seen: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    todo = list(roots)
    while todo:
        file = todo.pop()
        if file.name in seen:
            continue
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        seen[file.name] = proto
        todo.extend(file.dependencies)
    return tuple(seen.values())
