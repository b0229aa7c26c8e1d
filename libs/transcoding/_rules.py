"""`google.api.http` rules read from service descriptors, checked once at start.

Each HTTP rule (and each of its `additional_bindings`, one level deep) becomes a `Binding`:
the gRPC method, the HTTP verb, the parsed path template, where the request body goes and
what part of the response is the HTTP body. Everything that can be resolved ahead of a
request is resolved here: the field descriptors behind each path variable, the body field,
the response field, and the set of field paths that query parameters may not touch
(grpc-gateway's "filter": path-bound fields and the body field).

A rule that cannot work (unknown field, repeated path field, nested body field, client
streaming) raises `RuleError` at start rather than failing on the first request.

Operation ids follow protoc-gen-openapiv2: `Service_Method`, then `Service_Method2`,
`Service_Method3`... for additional bindings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor, message, message_factory

from libs.transcoding._template import PathTemplate, TemplateError, parse_template

logger = logging.getLogger(__name__)

FieldDescriptor = descriptor.FieldDescriptor


class RuleError(ValueError):
    """A `google.api.http` rule that the gateway cannot serve."""


@dataclass(frozen=True, slots=True)
class PathField:
    """A path variable resolved to the chain of fields it sets (`{a.b}`: a, then b)."""

    name: str
    fields: tuple[FieldDescriptor, ...]
    single_segment: bool
    start: int
    end: int | None


@dataclass(frozen=True, slots=True, eq=False)
class Binding:
    """One (HTTP verb, path) to gRPC method binding."""

    service: descriptor.ServiceDescriptor
    method: descriptor.MethodDescriptor
    full_method: str
    http_method: str
    template: PathTemplate
    path_fields: tuple[PathField, ...]
    body: str
    body_field: FieldDescriptor | None
    response_body: str
    response_field: FieldDescriptor | None
    query_filter: frozenset[tuple[str, ...]]
    request_class: type[message.Message]
    response_class: type[message.Message]
    server_streaming: bool
    operation_id: str
    index: int


def bindings_for_services(services: Iterable[descriptor.ServiceDescriptor]) -> list[Binding]:
    """All bindings of the given services, in registration order (later ones win)."""
    bindings: list[Binding] = []
    for service in services:
        for method in service.methods:
            bindings.extend(_bindings_for_method(service, method))
    return bindings


def _bindings_for_method(
    service: descriptor.ServiceDescriptor, method: descriptor.MethodDescriptor
) -> Iterator[Binding]:
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return
    rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]

    if method.client_streaming:
        logger.warning(
            "not transcoding %s: client streaming is not served over REST", method.full_name
        )
        return

    rules = [rule, *rule.additional_bindings]
    for index, each in enumerate(rules):
        if index and each.additional_bindings:
            raise RuleError(f"{method.full_name}: additional_bindings nest only one level")
        yield _make_binding(service, method, each, index)


def _make_binding(
    service: descriptor.ServiceDescriptor,
    method: descriptor.MethodDescriptor,
    rule: http_pb2.HttpRule,
    index: int,
) -> Binding:
    where = f"{method.full_name} binding {index}"
    http_method, path = _verb_and_path(rule, where)
    try:
        template = parse_template(path)
    except TemplateError as exc:
        raise RuleError(f"{where}: {exc}") from exc

    request = method.input_type
    path_fields = tuple(
        PathField(
            name=var.name,
            fields=_resolve_path_field(request, var.field_path, where),
            single_segment=var.single_segment,
            start=var.start,
            end=var.end,
        )
        for var in template.variables
    )

    body_field = None
    if rule.body and rule.body != "*":
        body_field = request.fields_by_name.get(rule.body)
        if body_field is None:
            raise RuleError(f"{where}: body field {rule.body!r} is not a top-level field")

    response_field = None
    if rule.response_body:
        response_field = method.output_type.fields_by_name.get(rule.response_body)
        if response_field is None:
            raise RuleError(f"{where}: response_body {rule.response_body!r} is not a field")

    query_filter = {tuple(var.field_path) for var in template.variables}
    if body_field is not None:
        query_filter.add((body_field.name,))

    operation_id = f"{service.name}_{method.name}" + (str(index + 1) if index else "")
    return Binding(
        service=service,
        method=method,
        full_method=f"/{service.full_name}/{method.name}",
        http_method=http_method,
        template=template,
        path_fields=path_fields,
        body=rule.body,
        body_field=body_field,
        response_body=rule.response_body,
        response_field=response_field,
        query_filter=frozenset(query_filter),
        request_class=message_factory.GetMessageClass(request),
        response_class=message_factory.GetMessageClass(method.output_type),
        server_streaming=method.server_streaming,
        operation_id=operation_id,
        index=index,
    )


def _verb_and_path(rule: http_pb2.HttpRule, where: str) -> tuple[str, str]:
    kind = rule.WhichOneof("pattern")
    if kind is None:
        raise RuleError(f"{where}: no HTTP verb and path")
    if kind == "custom":
        return rule.custom.kind.upper(), rule.custom.path
    path: str = getattr(rule, kind)
    return kind.upper(), path


def _resolve_path_field(
    request: descriptor.Descriptor, field_path: tuple[str, ...], where: str
) -> tuple[FieldDescriptor, ...]:
    fields: list[FieldDescriptor] = []
    current: descriptor.Descriptor | None = request

    for name in field_path:
        if current is None:
            raise RuleError(f"{where}: {'.'.join(field_path)!r} goes through a non-message")
        found = current.fields_by_name.get(name)
        if found is None:
            raise RuleError(f"{where}: no field {'.'.join(field_path)!r} in {request.full_name}")
        if found.is_repeated:
            raise RuleError(f"{where}: path field {name!r} is repeated or a map")
        fields.append(found)
        current = found.message_type

    return tuple(fields)
