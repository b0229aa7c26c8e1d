"""Compare the published OpenAPI document with compiled proto descriptors.

The comparison works on `FileDescriptorProto`s rather than live descriptors, so a test can break
a copy of them on purpose and see that the comparison notices. Each check returns a list of
problems, one readable line each; an empty list means the contract holds.

What "the same" means here is what a REST client sees through grpc-gateway-style transcoding:

- the binding's verb, and its path once every variable is written with the JSON name of the
  field it binds (protoc-gen-openapiv2 prints `{workspace_id}` as `{workspaceId}`);
- the body rule (`*` when the document's body parameter is called `body`, the field otherwise);
- every field of the request (path, query, body) and of the answer, by JSON name, with a
  compatible type: int64 formats as 64-bit integers, enums with the same value names in the
  same declaration order, repeated against arrays, maps against `additionalProperties`,
  messages against definitions, checked recursively; and no field the document does not have.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2

FieldProto = descriptor_pb2.FieldDescriptorProto
Json = dict[str, Any]

# Definitions that are well-known protos rather than our messages.
WELL_KNOWN = {"protobufAny": ".google.protobuf.Any", "googlerpcStatus": ".google.rpc.Status"}
EMPTY = ".google.protobuf.Empty"
TIMESTAMP = ".google.protobuf.Timestamp"

SCALARS: dict[tuple[str, str | None], set[int]] = {
    ("string", None): {FieldProto.TYPE_STRING},
    ("string", "int64"): {FieldProto.TYPE_INT64, FieldProto.TYPE_SINT64, FieldProto.TYPE_SFIXED64},
    ("string", "uint64"): {FieldProto.TYPE_UINT64, FieldProto.TYPE_FIXED64},
    ("string", "byte"): {FieldProto.TYPE_BYTES},
    ("integer", "int32"): {FieldProto.TYPE_INT32, FieldProto.TYPE_SINT32, FieldProto.TYPE_SFIXED32},
    ("integer", "uint32"): {FieldProto.TYPE_UINT32, FieldProto.TYPE_FIXED32},
    ("integer", "int64"): {FieldProto.TYPE_INT64, FieldProto.TYPE_SINT64, FieldProto.TYPE_SFIXED64},
    ("number", "double"): {FieldProto.TYPE_DOUBLE},
    ("number", "float"): {FieldProto.TYPE_FLOAT},
    ("boolean", None): {FieldProto.TYPE_BOOL},
}


def json_name(proto: FieldProto) -> str:
    """The JSON name protoc gives a field: its `json_name` option, or its name in lowerCamel."""
    if proto.HasField("json_name"):
        return proto.json_name
    parts = proto.name.split("_")
    return parts[0] + "".join(part[:1].upper() + part[1:] for part in parts[1:])


@dataclass(frozen=True)
class Method:
    service: str  # full name
    name: str
    input_type: str  # full name with the leading dot
    output_type: str
    rule: http_pb2.HttpRule

    @property
    def service_name(self) -> str:
        return self.service.rsplit(".", 1)[-1]

    @property
    def verb(self) -> str:
        return self.rule.WhichOneof("pattern") or ""

    @property
    def template(self) -> str:
        return str(getattr(self.rule, self.verb)) if self.verb else ""


@dataclass
class Index:
    """Messages, enums and methods of a set of files, by full name (with the leading dot)."""

    files: list[descriptor_pb2.FileDescriptorProto]
    messages: dict[str, descriptor_pb2.DescriptorProto] = field(default_factory=dict)
    enums: dict[str, descriptor_pb2.EnumDescriptorProto] = field(default_factory=dict)
    methods: list[Method] = field(default_factory=list)

    def __post_init__(self) -> None:
        for file in self.files:
            scope = f".{file.package}" if file.package else ""
            self._add(scope, file.message_type, file.enum_type)
            for service in file.service:
                for method in service.method:
                    self.methods.append(
                        Method(
                            f"{file.package}.{service.name}",
                            method.name,
                            method.input_type,
                            method.output_type,
                            method.options.Extensions[annotations_pb2.http],
                        )
                    )

    def _add(
        self,
        scope: str,
        messages: Any,
        enums: Any,
    ) -> None:
        for enum in enums:
            self.enums[f"{scope}.{enum.name}"] = enum
        for message in messages:
            name = f"{scope}.{message.name}"
            self.messages[name] = message
            self._add(name, message.nested_type, message.enum_type)

    def field_by_json(self, message: str, name: str) -> FieldProto | None:
        return next((f for f in self.messages[message].field if json_name(f) == name), None)

    def field_by_proto(self, message: str, name: str) -> FieldProto | None:
        return next((f for f in self.messages[message].field if f.name == name), None)

    def map_entry(self, proto: FieldProto) -> descriptor_pb2.DescriptorProto | None:
        if proto.type != FieldProto.TYPE_MESSAGE or proto.label != FieldProto.LABEL_REPEATED:
            return None
        entry = self.messages.get(proto.type_name)
        return entry if entry is not None and entry.options.map_entry else None

    def json_template(self, method: Method) -> str | None:
        """The binding's path with each variable written as JSON names, or None if unbound."""

        def rename(match: re.Match[str]) -> str:
            message = method.input_type
            names = []
            for part in match[1].split("."):
                found = self.field_by_proto(message, part) if message in self.messages else None
                if found is None:
                    raise LookupError(match[1])
                names.append(json_name(found))
                message = found.type_name
            return "{" + ".".join(names) + (match[2] or "") + "}"

        try:
            return re.sub(r"\{([^}=]+)(=[^}]*)?\}", rename, method.template)
        except LookupError:
            return None


@dataclass
class Checker:
    definitions: dict[str, Json]
    index: Index
    problems: list[str] = field(default_factory=list)
    _done: set[tuple[str, str]] = field(default_factory=set)

    # ---- operations --------------------------------------------------------------------------

    def find_method(self, tag: str, name: str, where: str) -> Method | None:
        found = [m for m in self.index.methods if m.service_name == tag and m.name == name]
        if len(found) != 1:
            self.problems.append(f"{where}: {len(found)} methods {tag}.{name}, want exactly one")
            return None
        return found[0]

    def check_operation(self, verb: str, path: str, operation: Json) -> list[str]:
        self.problems = []
        where = operation["operationId"]
        tag, name = where.split("_", 1)
        if operation["tags"][0] != tag:
            self.problems.append(f"{where}: tagged {operation['tags']}, not {tag}")
        method = self.find_method(tag, name, where)
        if method is None:
            return self.problems
        self.check_binding(method, verb, path, where)

        params: list[Json] = operation.get("parameters", [])
        body = next((p for p in params if p["in"] == "body"), None)
        self.check_body_rule(method, body, where)
        self.check_request(method, params, body, where)
        self.check_answer(method, operation["responses"]["200"].get("schema", {}), where)
        return self.problems

    def check_binding(self, method: Method, verb: str, path: str, where: str) -> None:
        if method.verb != verb:
            self.problems.append(f"{where}: bound to {method.verb or 'nothing'}, want {verb}")
        if method.rule.additional_bindings:
            self.problems.append(f"{where}: has additional bindings")
        template = self.index.json_template(method)
        if template is None:
            self.problems.append(f"{where}: {method.template!r} names a field the request lacks")
        elif template != path:
            self.problems.append(f"{where}: path {template!r}, want {path!r}")

    def check_body_rule(self, method: Method, body: Json | None, where: str) -> None:
        if body is None:
            want = ""
        elif body["name"] == "body":
            want = "*"
        else:
            found = self.index.field_by_json(method.input_type, body["name"])
            want = found.name if found is not None else f"<field {body['name']}>"
        if method.rule.body != want:
            self.problems.append(f"{where}: body {method.rule.body!r}, want {want!r}")

    def check_request(
        self, method: Method, params: list[Json], body: Json | None, where: str
    ) -> None:
        request = method.input_type
        if request not in self.index.messages:
            self.problems.append(f"{where}: request {request} is not compiled")
            return
        expected: set[str] = set()
        for param in params:
            if param["in"] == "body":
                continue
            names = param["name"].split(".")
            expected.add(names[0])
            self.check_parameter(request, names, param, f"{where} {param['in']} {param['name']}")

        if body is not None:
            schema = body["schema"]
            if body["name"] != "body":
                expected.add(body["name"])
                found = self.index.field_by_json(request, body["name"])
                if found is None:
                    self.problems.append(f"{where}: no body field {body['name']}")
                else:
                    self.check_property(schema, found, f"{where} body")
            elif "$ref" in schema:
                self.check_message(self.definition(schema), request, f"{where} body")
                return
            else:
                expected.update(schema.get("properties", {}))
                for prop, sub in schema.get("properties", {}).items():
                    found = self.index.field_by_json(request, prop)
                    if found is None:
                        self.problems.append(f"{where}: request has no field {prop}")
                    else:
                        self.check_property(sub, found, f"{where} body.{prop}")

        extra = {json_name(f) for f in self.index.messages[request].field} - expected
        if extra:
            self.problems.append(f"{where}: request fields not in the document: {sorted(extra)}")

    def check_parameter(self, request: str, names: list[str], param: Json, where: str) -> None:
        message = request
        found: FieldProto | None = None
        for position, name in enumerate(names):
            found = (
                self.index.field_by_json(message, name) if message in self.index.messages else None
            )
            if found is None:
                self.problems.append(f"{where}: no field {'.'.join(names[: position + 1])}")
                return
            message = found.type_name
        assert found is not None
        schema = {k: v for k, v in param.items() if k in ("type", "format", "enum", "items")}
        self.check_property(schema, found, where)

    def check_answer(self, method: Method, schema: Json, where: str) -> None:
        if "$ref" in schema:
            self.check_message(self.definition(schema), method.output_type, f"{where} answer")
        elif method.output_type != EMPTY:
            self.problems.append(f"{where}: answer {method.output_type}, want {EMPTY}")

    # ---- schemas against fields --------------------------------------------------------------

    def definition(self, schema: Json) -> str:
        return str(schema["$ref"]).rsplit("/", 1)[-1]

    def check_message(self, definition: str, message: str, where: str) -> None:
        """The message has every property of the definition, compatibly, and nothing more."""
        if (definition, message) in self._done:
            return
        self._done.add((definition, message))
        if definition in WELL_KNOWN:
            if message != WELL_KNOWN[definition]:
                self.problems.append(f"{where}: {message}, want {WELL_KNOWN[definition]}")
            return
        if message not in self.index.messages:
            self.problems.append(f"{where}: {message} is not a compiled message")
            return
        properties: Json = self.definitions[definition].get("properties", {})
        for prop, sub in properties.items():
            found = self.index.field_by_json(message, prop)
            if found is None:
                self.problems.append(f"{where}: {message} has no field {prop}")
            else:
                self.check_property(sub, found, f"{where}.{prop}")
        extra = {json_name(f) for f in self.index.messages[message].field} - set(properties)
        if extra:
            self.problems.append(f"{where}: {message} has fields not in the document: {extra}")

    def check_property(self, schema: Json, proto: FieldProto, where: str) -> None:
        entry = self.index.map_entry(proto)
        repeated = proto.label == FieldProto.LABEL_REPEATED and entry is None
        if schema.get("type") == "array":
            if not repeated:
                self.problems.append(f"{where}: an array in the document, single in the proto")
                return
            self.check_value(schema["items"], proto, where + "[]")
        elif schema.get("type") == "object" and "additionalProperties" in schema:
            if entry is None:
                self.problems.append(f"{where}: a map in the document, not in the proto")
                return
            key, value = entry.field[0], entry.field[1]
            if key.type != FieldProto.TYPE_STRING:
                self.problems.append(f"{where}: map keys are not strings")
            self.check_value(schema["additionalProperties"], value, where + "{}")
        elif repeated or entry is not None:
            self.problems.append(f"{where}: single in the document, repeated or a map in the proto")
        else:
            self.check_value(schema, proto, where)

    def check_value(self, schema: Json, proto: FieldProto, where: str) -> None:
        if "$ref" in schema:
            definition = self.definition(schema)
            target = self.definitions.get(definition, {})
            if "enum" in target:
                self.check_enum(target["enum"], proto, where)
            elif proto.type != FieldProto.TYPE_MESSAGE:
                self.problems.append(f"{where}: a message ({definition}) in the document")
            else:
                self.check_message(definition, proto.type_name, where)
            return
        kind: str = schema.get("type", "")
        fmt: str | None = schema.get("format")
        if "enum" in schema:
            self.check_enum(schema["enum"], proto, where)
        elif (kind, fmt) == ("string", "date-time"):
            if proto.type_name != TIMESTAMP:
                self.problems.append(f"{where}: a date-time in the document, want {TIMESTAMP}")
        elif (kind, fmt) in SCALARS:
            if proto.type not in SCALARS[(kind, fmt)]:
                type_name = FieldProto.Type.Name(proto.type)
                self.problems.append(f"{where}: {kind}/{fmt} in the document, {type_name} here")
        else:
            self.problems.append(f"{where}: the document's {schema} has no known proto form")

    def check_enum(self, values: list[str], proto: FieldProto, where: str) -> None:
        enum = self.index.enums.get(proto.type_name)
        if proto.type != FieldProto.TYPE_ENUM or enum is None:
            self.problems.append(f"{where}: an enum in the document, not in the proto")
            return
        names = [v.name for v in enum.value]
        if names != list(values):
            self.problems.append(f"{where}: enum values {names}, want {values}")
