"""The compiled API keeps the contract of the published document, operation by operation.

For each of the operations that api-scope.md puts in scope, the service and method named by
the operationId exist, the binding's verb, path and body rule are the document's, and every
request and answer field matches by JSON name and type, recursively (see `checker.py`). Every
extension endpoint of api-scope.md is bound as the table says. The last tests break copies of
the descriptors on purpose, to show that the comparison catches each kind of break.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2, descriptor_pool

from tests.contract.checker import EMPTY, Checker, FieldProto, Index, json_name
from tests.contract.reference import (
    PLAIN_HTTP_PREFIX,
    Extension,
    Operation,
    compiled_files,
    document,
    scope_extensions,
    scope_operations,
)

OPERATIONS = scope_operations()
EXTENSIONS = tuple(e for e in scope_extensions() if not e.path.startswith(PLAIN_HTTP_PREFIX))

CORE = "amamba.io.api.core.v1alpha1"
PIPELINE = "amamba.io.api.pipeline.v1alpha1"
CREDENTIAL = "amamba.io.api.credential.v1alpha1"


@cache
def compiled() -> Index:
    return Index(list(compiled_files()))


def check(operation: Operation, index: Index | None = None) -> list[str]:
    doc = document()
    item = doc["paths"][operation.path][operation.verb]
    checker = Checker(doc["definitions"], index or compiled())
    return checker.check_operation(operation.verb, operation.path, item)


def operation(operation_id: str) -> Operation:
    return next(o for o in OPERATIONS if o.operation_id == operation_id)


# ---- the scope ---------------------------------------------------------------------------------


def test_scope_lists_72_operations_of_the_document() -> None:
    paths = document()["paths"]

    assert len(OPERATIONS) == 72
    for op in OPERATIONS:
        assert paths[op.path][op.verb]["operationId"] == op.operation_id


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda o: o.operation_id)
def test_operation_keeps_the_document_contract(op: Operation) -> None:
    assert check(op) == []


def test_two_management_services_live_in_two_packages() -> None:
    services = {m.service for m in compiled().methods if m.service_name == "Management"}

    assert services == {f"{CORE}.Management", f"{PIPELINE}.Management"}


def test_json_names_read_from_descriptors_are_those_the_runtime_uses() -> None:
    pool = descriptor_pool.Default()
    checked = 0
    for name, message in compiled().messages.items():
        if not name.startswith((".amamba.", ".k8s.")):
            continue
        live = pool.FindMessageTypeByName(name[1:])
        for proto in message.field:
            assert json_name(proto) == live.fields_by_name[proto.name].json_name, name
            checked += 1

    assert checked > 1000


# ---- the extensions ----------------------------------------------------------------------------


def top_level_keys(text: str) -> list[str]:
    """The keys of the first JSON-like object in a table cell (values may be prose)."""
    keys: list[str] = []
    depth = 0
    for match in re.finditer(r'[{}]|"(\w+)"\s*:', text):
        if match[0] == "{":
            depth += 1
        elif match[0] == "}":
            depth -= 1
            if depth == 0:
                break
        elif depth == 1:
            keys.append(match[1])
    return keys


def check_extension(extension: Extension, index: Index) -> list[str]:
    where = f"{extension.verb.upper()} {extension.path}"
    bound = [m for m in index.methods if m.verb == extension.verb]
    bound = [m for m in bound if index.json_template(m) == extension.path]
    if len(bound) != 1:
        return [f"{where}: {len(bound)} methods bound, want exactly one"]
    method = bound[0]
    checker = Checker(document()["definitions"], index)
    request_text, arrow, answer_text = extension.exchange.partition("→")

    body_keys = top_level_keys(request_text)
    if extension.verb in ("get", "delete") and method.rule.body:
        checker.problems.append(f"{where}: a {extension.verb} with a body")
    if body_keys and method.rule.body != "*":
        checker.problems.append(f"{where}: body {method.rule.body!r}, want '*'")
    for key in body_keys:
        if index.field_by_json(method.input_type, key) is None:
            checker.problems.append(f"{where}: the request has no field {key}")
    for key, definition in re.findall(r"`(\w+)` is `(\w+)`", request_text):
        found = index.field_by_json(method.input_type, key)
        if found is not None:
            checker.check_property({"$ref": f"#/definitions/{definition}"}, found, where)

    if arrow:
        named = re.search(r"`(v1alpha1\w+)`", answer_text)
        answer_keys = top_level_keys(answer_text)
        if named:
            checker.check_message(named[1], method.output_type, f"{where} answer")
        elif answer_keys:
            for key in answer_keys:
                if index.field_by_json(method.output_type, key) is None:
                    checker.problems.append(f"{where}: the answer has no field {key}")
        elif method.output_type != EMPTY:
            checker.problems.append(f"{where}: answers {method.output_type}, want {EMPTY}")
    return checker.problems


def test_scope_lists_the_extension_endpoints() -> None:
    assert len(EXTENSIONS) == 14
    assert len(scope_extensions()) == 15  # with devops-server's Jenkins webhook


@pytest.mark.parametrize("extension", EXTENSIONS, ids=lambda e: f"{e.verb} {e.path}")
def test_extension_endpoint_is_bound_as_the_table_says(extension: Extension) -> None:
    assert check_extension(extension, compiled()) == []


# ---- the comparison notices breaks -------------------------------------------------------------


def broken(change: Callable[[Index], object]) -> Index:
    """A copy of the compiled descriptors with one change made to it."""
    copies = []
    for file in compiled_files():
        copy = descriptor_pb2.FileDescriptorProto()
        copy.CopyFrom(file)
        copies.append(copy)
    change(Index(copies))
    return Index(copies)


def field_of(index: Index, message: str, name: str) -> FieldProto:
    return next(f for f in index.messages[message].field if f.name == name)


def rule_of(index: Index, service: str, method: str) -> Any:
    package, name = service.rsplit(".", 1)
    for file in index.files:
        for svc in file.service if file.package == package else ():
            for rpc in svc.method if svc.name == name else ():
                if rpc.name == method:
                    return rpc.options.Extensions[annotations_pb2.http]
    raise LookupError(f"{service}.{method}")


BREAKS: dict[str, tuple[str, Callable[[Index], object], str]] = {
    "renamed field": (
        "Core_ListVisibleWorkspaces",
        lambda i: setattr(field_of(i, f".{CORE}.Workspace", "alias"), "name", "alias_name"),
        "no field alias",
    ),
    "int64 became string": (
        "Pipelines_GetPipelineRun",
        lambda i: setattr(
            field_of(i, f".{PIPELINE}.PipelineRun", "run_id"), "type", FieldProto.TYPE_STRING
        ),
        ".runId: string/int64",
    ),
    "path field retyped": (
        "Pipelines_GetPipelineRunSteps",
        lambda i: setattr(
            field_of(i, f".{PIPELINE}.GetPipelineRunStepsRequest", "node_id"),
            "type",
            FieldProto.TYPE_INT32,
        ),
        "path nodeId",
    ),
    "enum value renamed": (
        "Pipelines_ListPipelineRuns",
        lambda i: setattr(i.enums[f".{PIPELINE}.PipelineRunState"].value[1], "name", "QUEUED"),
        "enum values",
    ),
    "array became single": (
        "Core_ListClusterNames",
        lambda i: setattr(
            field_of(i, f".{CORE}.ListClusterNamesResponse", "items"),
            "label",
            FieldProto.LABEL_OPTIONAL,
        ),
        "an array in the document",
    ),
    "deep Kubernetes field dropped": (
        "Management_ListPodTemplates",
        lambda i: i.messages[".k8s.io.api.core.v1.Container"].field.pop(),
        "Container has no field",
    ),
    "field added": (
        "Credentials_GetCredential",
        lambda i: i.messages[f".{CREDENTIAL}.Credential"].field.add(
            name="extra", number=99, type=FieldProto.TYPE_STRING
        ),
        "fields not in the document",
    ),
    "path changed": (
        "Core_ListClusterNames",
        lambda i: setattr(rule_of(i, f"{CORE}.Core", "ListClusterNames"), "get", "/clusternames"),
        "path '/clusternames'",
    ),
    "body rule dropped": (
        "Pipelines_CreatePipeline",
        lambda i: setattr(rule_of(i, f"{PIPELINE}.Pipelines", "CreatePipeline"), "body", ""),
        "body ''",
    ),
    "verb changed": (
        "Management_UpdateSettings",
        lambda i: setattr(rule_of(i, f"{CORE}.Management", "UpdateSettings"), "post", "/apis/x"),
        "bound to post",
    ),
}


@pytest.mark.parametrize("name", BREAKS)
def test_a_broken_descriptor_fails_the_contract(name: str) -> None:
    operation_id, change, expected = BREAKS[name]
    problems = check(operation(operation_id), broken(change))

    assert any(expected in problem for problem in problems), problems


def test_an_unbound_extension_fails_the_contract() -> None:
    extension = next(e for e in EXTENSIONS if e.path.endswith(":run"))
    index = broken(
        lambda i: setattr(rule_of(i, f"{PIPELINE}.Pipelines", "RunPipeline"), "post", "/x")
    )

    assert check_extension(extension, index) == [
        f"POST {extension.path}: 0 methods bound, want exactly one"
    ]
