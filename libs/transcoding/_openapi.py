"""The OpenAPI 3.1 document of what the gateway serves, built from the descriptors.

Shape follows protoc-gen-openapiv2 (the generator of the published Workbench document), moved
to OpenAPI 3.1:

- one operation per binding, `operationId` `Service_Method` (`Service_Method2`, ... for
  additional bindings), tagged with the service name;
- path parameters named by the JSON names of their field path (`{workspaceId}`; a nested
  `{ref.shelf}` as `{refShelf}`, a multi-segment `{name=shelves/*}` spelt out as
  `shelves/{name_1}`, since a parameter value cannot hold `/`), query
  parameters for every field the binding leaves to the query (dotted JSON names through
  singular messages; repeated scalars as arrays; maps, repeated messages and JSON-typed
  well-known types are not offered as query parameters);
- the request body is the body field's schema, or for `body: "*"` an inline object of the
  request's fields minus those bound to the path;
- `200` is the response (or its `response_body` field; for server streaming, the
  `{"result": ..., "error": ...}` chunk object) and `default` is `googlerpcStatus`;
- a schema per message and enum under `components/schemas`, named like protoc-gen-openapiv2
  names definitions: last package component + message name (`v1alpha1Pipeline`), or the
  whole dotless package when that short name collides (`amambaioapitypesPage`);
- proto3 JSON types: int64 family as strings (`format: int64`), enums as string enums,
  repeated as arrays, maps as `additionalProperties`, well-known types as their JSON form;
- a bearer security scheme applied to every operation.

The schemas describe what the server accepts as well as what it emits, so that a generator
such as schemathesis stays within valid input: message objects have
`additionalProperties: false` (unknown fields are a 400 here), int64 strings carry a digit
pattern, and single-segment string path parameters exclude `/`, control characters and the
`.`/`..` values the gateway refuses.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf import any_pb2, descriptor
from google.rpc import status_pb2

from libs.transcoding._rules import Binding
from libs.transcoding._template import Segment, SegmentKind

logger = logging.getLogger(__name__)

FieldDescriptor = descriptor.FieldDescriptor

STATUS_SCHEMA = "googlerpcStatus"
ANY_SCHEMA = "protobufAny"
_REF = "#/components/schemas/"
_MAX_QUERY_DEPTH = 4
_SEGMENT_PATTERN = r"^[^/\x00-\x1f\x7f]*[^/.\x00-\x1f\x7f][^/\x00-\x1f\x7f]*$"

_INT32 = {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
_UINT32 = {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**32 - 1}
_INT64 = {"type": "string", "format": "int64", "pattern": r"^-?[0-9]{1,18}$"}
_UINT64 = {"type": "string", "format": "uint64", "pattern": r"^[0-9]{1,19}$"}

_SCALARS: dict[int, dict[str, Any]] = {
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT32: _INT32,
    FieldDescriptor.TYPE_SINT32: _INT32,
    FieldDescriptor.TYPE_SFIXED32: _INT32,
    FieldDescriptor.TYPE_UINT32: _UINT32,
    FieldDescriptor.TYPE_FIXED32: _UINT32,
    FieldDescriptor.TYPE_INT64: _INT64,
    FieldDescriptor.TYPE_SINT64: _INT64,
    FieldDescriptor.TYPE_SFIXED64: _INT64,
    FieldDescriptor.TYPE_UINT64: _UINT64,
    FieldDescriptor.TYPE_FIXED64: _UINT64,
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
}

_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$"},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": {}},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object", "additionalProperties": False},
    "google.protobuf.DoubleValue": _SCALARS[FieldDescriptor.TYPE_DOUBLE],
    "google.protobuf.FloatValue": _SCALARS[FieldDescriptor.TYPE_FLOAT],
    "google.protobuf.Int64Value": _INT64,
    "google.protobuf.UInt64Value": _UINT64,
    "google.protobuf.Int32Value": _INT32,
    "google.protobuf.UInt32Value": _UINT32,
    "google.protobuf.BoolValue": {"type": "boolean"},
    "google.protobuf.StringValue": {"type": "string"},
    "google.protobuf.BytesValue": {"type": "string", "format": "byte"},
}
_NOT_IN_QUERY = frozenset(
    {
        "google.protobuf.Struct",
        "google.protobuf.Value",
        "google.protobuf.ListValue",
        "google.protobuf.Empty",
        "google.protobuf.Any",
    }
)


def build_openapi(
    bindings: Iterable[Binding],
    *,
    title: str = "Workbench API",
    version: str = "0.1.0",
    max_path_value_length: int | None = None,
) -> dict[str, Any]:
    """An OpenAPI 3.1 document for the bindings (e.g. `Gateway.bindings`)."""
    return _Builder(list(bindings), max_path_value_length).build(title, version)


class _Builder:
    def __init__(self, bindings: list[Binding], max_path_value_length: int | None) -> None:
        self.bindings = bindings
        self.max_path_value_length = max_path_value_length
        self.names = _schema_names(bindings)
        self.schemas: dict[str, Any] = {}
        self.pending: list[descriptor.Descriptor | descriptor.EnumDescriptor] = []

    def build(self, title: str, version: str) -> dict[str, Any]:
        paths: dict[str, dict[str, Any]] = {}
        for binding in self.bindings:
            path, operation = self._operation(binding)
            paths.setdefault(path, {})[binding.http_method.lower()] = operation

        self._ref(status_pb2.Status.DESCRIPTOR)
        while self.pending:
            self._define(self.pending.pop())

        tags = list(dict.fromkeys(binding.service.name for binding in self.bindings))
        return {
            "openapi": "3.1.0",
            "info": {"title": title, "version": version},
            "tags": [{"name": name} for name in tags],
            "paths": paths,
            "components": {
                "schemas": dict(sorted(self.schemas.items())),
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            },
            "security": [{"bearerAuth": []}],
        }

    # --- operations -----------------------------------------------------------------------

    def _operation(self, binding: Binding) -> tuple[str, dict[str, Any]]:
        path_parts: list[str] = []
        parameters: list[dict[str, Any]] = []
        segments = binding.template.segments
        by_start = {path_field.start: path_field for path_field in binding.path_fields}
        index = 0

        while index < len(segments):
            path_field = by_start.get(index)
            if path_field is None:
                segment = segments[index]
                path_parts.append(segment.literal or f"{{wildcard{index}}}")
                if not segment.literal:
                    parameters.append(_path_parameter(f"wildcard{index}", {"type": "string"}))
                index += 1
                continue

            name = _path_parameter_name(path_field.fields)
            end = len(segments) if path_field.end is None else path_field.end
            if path_field.single_segment or end - index == 1:
                path_parts.append(f"{{{name}}}")
                parameters.append(_path_parameter(name, self._path_schema(path_field)))
            else:
                self._expand_variable(name, path_field, segments[index:end], path_parts, parameters)
            index = end

        path = "/" + "/".join(path_parts)
        if binding.template.verb:
            path += ":" + binding.template.verb

        if binding.body != "*":
            parameters.extend(self._query_parameters(binding))

        operation: dict[str, Any] = {
            "operationId": binding.operation_id,
            "tags": [binding.service.name],
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "A successful response."
                    + (" (streaming responses)" if binding.server_streaming else ""),
                    "content": {"application/json": {"schema": self._response_schema(binding)}},
                },
                "default": {
                    "description": "An unexpected error response.",
                    "content": {"application/json": {"schema": {"$ref": _REF + STATUS_SCHEMA}}},
                },
            },
        }
        if binding.body:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": self._body_schema(binding)}},
            }
        if not parameters:
            del operation["parameters"]
        return path, operation

    def _expand_variable(
        self,
        name: str,
        path_field: Any,
        segments: Sequence[Segment],
        path_parts: list[str],
        parameters: list[dict[str, Any]],
    ) -> None:
        """A multi-segment variable spelt out: its literals stay, each wildcard is a parameter.

        `{name=shelves/*/books/*}` becomes `shelves/{name_1}/books/{name_2}`: OpenAPI path
        parameters cannot hold `/`, and a client percent-encoding one would no longer match.
        """
        parts: list[str] = []
        wildcards = 0
        for segment in segments:
            if segment.kind is SegmentKind.LITERAL:
                parts.append(segment.literal)
                continue
            wildcards += 1
            wildcard = f"{name}_{wildcards}"
            parts.append(f"{{{wildcard}}}")
            schema = self._path_schema(path_field)
            if segment.kind is SegmentKind.STAR:
                schema["pattern"] = _SEGMENT_PATTERN
            parameter = _path_parameter(wildcard, schema)
            parameter["description"] = f"a segment of `{name}` ({path_field.name} = {{...}})"
            parameters.append(parameter)
        path_parts.extend(parts)

    def _path_schema(self, path_field: Any) -> dict[str, Any]:
        field: FieldDescriptor = path_field.fields[-1]
        schema = dict(self._field_schema(field))
        if field.type == FieldDescriptor.TYPE_STRING:
            if path_field.single_segment:
                schema["pattern"] = _SEGMENT_PATTERN
            schema["minLength"] = 1
            if self.max_path_value_length:
                schema["maxLength"] = self.max_path_value_length
        return schema

    def _query_parameters(self, binding: Binding) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = []
        self._collect_query(
            binding.method.input_type, (), (), binding.query_filter, parameters, set()
        )
        return parameters

    def _collect_query(
        self,
        message_type: descriptor.Descriptor,
        names: tuple[str, ...],
        json_names: tuple[str, ...],
        query_filter: frozenset[tuple[str, ...]],
        out: list[dict[str, Any]],
        seen: set[str],
    ) -> None:
        if message_type.full_name in seen or len(names) >= _MAX_QUERY_DEPTH:
            return
        seen = seen | {message_type.full_name}

        for field in message_type.fields:
            path = (*names, field.name)
            if path in query_filter:
                continue
            json_path = (*json_names, field.json_name)
            nested = field.message_type
            if nested is not None and nested.full_name in _NOT_IN_QUERY:
                continue

            if field.is_repeated:
                if nested is not None and nested.full_name not in _WELL_KNOWN:
                    continue  # maps and repeated messages have no query form
                schema: dict[str, Any] = {"type": "array", "items": self._field_schema(field)}
                out.append(_query_parameter(".".join(json_path), schema, explode=True))
            elif nested is not None and nested.full_name not in _WELL_KNOWN:
                self._collect_query(nested, path, json_path, query_filter, out, seen)
            else:
                out.append(_query_parameter(".".join(json_path), self._field_schema(field)))

    def _body_schema(self, binding: Binding) -> dict[str, Any]:
        if binding.body_field is not None:
            return self._field_schema(binding.body_field, repeated=binding.body_field.is_repeated)

        bound = {
            path_field.fields[0].name
            for path_field in binding.path_fields
            if len(path_field.fields) == 1
        }
        request = binding.method.input_type
        properties = {
            field.json_name: self._field_schema(field, repeated=field.is_repeated)
            for field in request.fields
            if field.name not in bound
        }
        return {"type": "object", "properties": properties, "additionalProperties": False}

    def _response_schema(self, binding: Binding) -> dict[str, Any]:
        field = binding.response_field
        if field is not None:
            schema = self._field_schema(field, repeated=field.is_repeated)
        else:
            schema = self._ref(binding.method.output_type)
        if not binding.server_streaming:
            return schema
        return {
            "type": "object",
            "title": f"Stream result of {binding.method.output_type.full_name}",
            "properties": {"result": schema, "error": {"$ref": _REF + STATUS_SCHEMA}},
        }

    # --- schemas --------------------------------------------------------------------------

    def _field_schema(self, field: FieldDescriptor, *, repeated: bool = False) -> dict[str, Any]:
        """Schema of one field's JSON value; `repeated` for the whole list or map."""
        entry = field.message_type
        if repeated and entry is not None and entry.GetOptions().map_entry:
            value = self._field_schema(entry.fields_by_name["value"])
            return {"type": "object", "additionalProperties": value}
        if repeated:
            return {"type": "array", "items": self._field_schema(field)}

        if field.type == FieldDescriptor.TYPE_ENUM and field.enum_type is not None:
            if field.enum_type.full_name == "google.protobuf.NullValue":
                return {"type": "null"}
            return self._ref(field.enum_type)
        if entry is not None:
            return self._ref(entry)
        return dict(_SCALARS[field.type])

    def _ref(self, target: descriptor.Descriptor | descriptor.EnumDescriptor) -> dict[str, Any]:
        if target.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[target.full_name])
        name = self._name(target)
        if name not in self.schemas:
            self.schemas[name] = {}  # placeholder: breaks cycles of self-referencing messages
            self.pending.append(target)
        return {"$ref": _REF + name}

    def _name(self, target: descriptor.Descriptor | descriptor.EnumDescriptor) -> str:
        if target.full_name == any_pb2.Any.DESCRIPTOR.full_name:
            return ANY_SCHEMA
        if target.full_name == status_pb2.Status.DESCRIPTOR.full_name:
            return STATUS_SCHEMA
        return self.names.get(target.full_name) or _full_name(target)

    def _define(self, target: descriptor.Descriptor | descriptor.EnumDescriptor) -> None:
        name = self._name(target)
        if isinstance(target, descriptor.EnumDescriptor):
            values = [value.name for value in target.values]
            self.schemas[name] = {"type": "string", "enum": values, "default": values[0]}
            return

        if target.full_name == any_pb2.Any.DESCRIPTOR.full_name:
            self.schemas[name] = {
                "type": "object",
                "properties": {"@type": {"type": "string"}},
                "additionalProperties": {},
            }
            return

        properties = {
            field.json_name: self._field_schema(field, repeated=field.is_repeated)
            for field in target.fields
        }
        self.schemas[name] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }


def _path_parameter_name(fields: Sequence[FieldDescriptor]) -> str:
    """`{ref.shelf}` is documented as `{refShelf}`: generated clients (and schemathesis)
    treat a `.` in a path parameter name as attribute access."""
    first, *rest = (field.json_name for field in fields)
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _path_parameter(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query_parameter(name: str, schema: dict[str, Any], *, explode: bool = False) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
    if explode:
        parameter["style"] = "form"
        parameter["explode"] = True
    return parameter


def _full_name(target: descriptor.Descriptor | descriptor.EnumDescriptor) -> str:
    return target.full_name.replace(".", "")


def _short_name(target: descriptor.Descriptor | descriptor.EnumDescriptor) -> str:
    package = target.file.package
    nested = target.full_name[len(package) + 1 :] if package else target.full_name
    last = package.rsplit(".", 1)[-1] if package else ""
    return last + nested.replace(".", "")


def _schema_names(bindings: list[Binding]) -> dict[str, str]:
    """Short schema names where unique among all types of the files involved."""
    types: dict[str, descriptor.Descriptor | descriptor.EnumDescriptor] = {}
    files = {
        binding.method.input_type.file.name: binding.method.input_type.file for binding in bindings
    }
    files.update(
        {
            binding.method.output_type.file.name: binding.method.output_type.file
            for binding in bindings
        }
    )

    pending = list(files.values())
    seen_files: set[str] = set()
    while pending:
        file = pending.pop()
        if file.name in seen_files:
            continue
        seen_files.add(file.name)
        pending.extend(file.dependencies)
        for message_type in file.message_types_by_name.values():
            _collect_types(message_type, types)
        for enum_type in file.enum_types_by_name.values():
            types[enum_type.full_name] = enum_type

    by_short: dict[str, list[str]] = {}
    for full_name, target in types.items():
        by_short.setdefault(_short_name(target), []).append(full_name)

    names: dict[str, str] = {}
    for short, full_names in by_short.items():
        for full_name in full_names:
            names[full_name] = short if len(full_names) == 1 else _full_name(types[full_name])
    return names


def _collect_types(
    message_type: descriptor.Descriptor,
    types: dict[str, descriptor.Descriptor | descriptor.EnumDescriptor],
) -> None:
    types[message_type.full_name] = message_type
    for nested in message_type.nested_types:
        if not nested.GetOptions().map_entry:
            _collect_types(nested, types)
    for enum_type in message_type.enum_types:
        types[enum_type.full_name] = enum_type
