"""From an HTTP request to a request message, and from a response message to JSON.

Request decoding runs in grpc-gateway's order: the body first (`body: "*"` is the whole
message, `body: "field"` one top-level field, no `body` means the HTTP body is ignored), then
the path variables (which override the body), then the query parameters, only when the body
is not `*`, never for fields bound to the path or the body (grpc-gateway's filter).

JSON is proto3 JSON through `google.protobuf.json_format`: input accepts lowerCamelCase and
proto names; output is lowerCamelCase with unpopulated fields emitted, int64 as strings,
enums by name, Timestamp as RFC 3339. One deliberate departure from grpc-gateway, whose
default unmarshaller discards unknown fields: this project rejects them (INVALID_ARGUMENT),
so a misspelt field never silently does nothing. As in protojson, a body that gives one
key twice in an object, or one field under both its names (`pageSize` and `page_size`), is
refused, where the json module and json_format would keep the last quietly.

Query parameters follow `runtime/query.go`: proto or JSON names, dotted paths through
singular messages, `?f=a&f=b` for repeated fields, `f[key]=value` for maps, enums by name or
number, bool as Go's ParseBool, bytes as base64, well-known types (Timestamp RFC 3339,
Duration `1.5s` or Go `1m30s`, wrappers, FieldMask, Struct/Value/ListValue as JSON). A
parameter naming no field is ignored; one naming a field with a bad value, a second value
for a singular field, or a second member of a set oneof is a 400.

PATCH with a message-field body and one empty FieldMask in the request gets the mask filled
from the body's keys (grpc-gateway's patch feature; never with `body: "*"`).

Path values are decoded after matching: a single-segment variable fully (`%2F` included, and
a resulting `/` is refused), a multi-segment one except `%2F`, which stays encoded. The
project refuses, with a 400 naming the variable, values that are empty, contain a `.` or `..`
segment, control characters, or are longer than the configured limit.

Every failure here raises `GatewayError(INVALID_ARGUMENT, <which field and why>)`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import math
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote

from google.protobuf import descriptor, json_format, message, message_factory

from libs.transcoding._rules import Binding, PathField
from libs.transcoding._status import dump_json, invalid_argument

logger = logging.getLogger(__name__)

FieldDescriptor = descriptor.FieldDescriptor
Message = message.Message

_INT_TEXT = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_FLOAT_WORDS = {
    "nan": math.nan,
    "inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
    "infinity": math.inf,
    "+infinity": math.inf,
    "-infinity": -math.inf,
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ENCODED_SLASH = re.compile(r"%2[fF]")
_MAP_KEY = re.compile(r"^(.*)\[(.*)\]\Z")
_GO_DURATION = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_GO_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})

_INT_RANGES: dict[int, tuple[int, int, str]] = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1, "int32"),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1, "int32"),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1, "int32"),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1, "uint32"),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1, "uint32"),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1, "int64"),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1, "int64"),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1, "int64"),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1, "uint64"),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1, "uint64"),
}
_FLOAT32_MAX = 3.4028234663852886e38

_WRAPPERS = frozenset(
    f"google.protobuf.{name}Value"
    for name in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
)
_JSON_TYPES = frozenset(
    {"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"}
)
# Messages whose JSON is not an object of their fields: nothing to check for aliases inside
# (`Any` holds the fields of the type it names, which json_format resolves itself).
_OPAQUE = (
    _WRAPPERS
    | _JSON_TYPES
    | {
        "google.protobuf.Any",
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
        "google.protobuf.Empty",
    }
)


class _BadValue(ValueError):
    """A text that does not fit a field; the caller adds which parameter it was."""


# --- the body -------------------------------------------------------------------------------


def parse_body(request: Message, binding: Binding, body: bytes) -> None:
    """Decode the JSON body into the request as the binding's `body` says."""
    if not binding.body or not body.strip():
        return  # grpc-gateway accepts an empty body (io.EOF) as "nothing set"

    try:
        data = json.loads(body, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise invalid_argument(f"invalid request body: {exc}") from exc
    except (ValueError, RecursionError) as exc:
        raise invalid_argument(f"malformed JSON in the request body: {exc}") from exc

    if binding.body_field is None:
        if not isinstance(data, dict):
            raise invalid_argument("the request body must be a JSON object")
    else:
        data = {binding.body_field.name: data}

    request_type = binding.method.input_type
    try:
        if b"_" in body or b"\\u" in body or _has_custom_json_names(request_type):
            _refuse_aliases(request_type, data)  # a GatewayError of its own, or RecursionError
        json_format.ParseDict(data, request, ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        raise invalid_argument(f"invalid request body: {exc}") from exc
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as exc:
        raise invalid_argument(f"invalid request body: {exc}") from exc

    if binding.http_method == "PATCH" and binding.body_field is not None:
        _fill_update_mask(request, binding.body_field, data[binding.body_field.name])


class _DuplicateKey(ValueError):
    """A JSON object with one key twice: the json module would keep the last silently."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook` refusing a repeated key, at any depth (Go's protojson does)."""
    data = dict(pairs)
    if len(data) == len(pairs):
        return data

    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _DuplicateKey(f"{key!r} is given more than once")
        seen.add(key)
    return data  # not reached: a shorter dict means some key came twice


def _refuse_aliases(message_type: descriptor.Descriptor, data: dict[str, Any]) -> None:
    """Refuse one field set under both its names (`displayName` and `display_name`).

    json_format would take the last; protojson counts fields by number and refuses the
    second. Keys naming no field are left to json_format, which refuses them. The caller
    skips this walk when it cannot find anything: a proto name differs from its default
    JSON name only by an underscore, so a body without one, for a message with no custom
    `json_name`, names every field at most one way.
    """
    names = _names_of(message_type)
    seen: dict[int, str] = {}

    for key, value in data.items():
        field = names.get(key)
        if field is None:
            continue
        first = seen.setdefault(field.number, key)
        if first != key:
            raise invalid_argument(
                f"invalid request body: field {field.name!r} is given more than once "
                f"(as {first!r} and {key!r})"
            )
        nested = field.message_type
        if nested is None or value is None or nested.full_name in _OPAQUE:
            continue
        if _is_map(field):
            entry_value = nested.fields_by_name["value"].message_type
            if entry_value is not None and entry_value.full_name not in _OPAQUE:
                items = value.values() if isinstance(value, dict) else ()
                _refuse_aliases_in(entry_value, items)
        elif field.is_repeated:
            _refuse_aliases_in(nested, value if isinstance(value, list) else ())
        elif isinstance(value, dict):
            _refuse_aliases(nested, value)


def _refuse_aliases_in(message_type: descriptor.Descriptor, values: Any) -> None:
    for value in values:
        if isinstance(value, dict):
            _refuse_aliases(message_type, value)


@functools.cache
def _has_custom_json_names(message_type: descriptor.Descriptor) -> bool:
    """Whether the message, or one reachable from it, has a field with its own `json_name`."""
    pending, seen = [message_type], {message_type.full_name}
    while pending:
        current = pending.pop()
        for field in current.fields:
            if field.json_name != _camel(field.name):
                return True
            nested = field.message_type
            if nested is not None and nested.full_name not in seen:
                seen.add(nested.full_name)
                pending.append(nested)
    return False


def _camel(name: str) -> str:
    """protoc's default JSON name: each underscore dropped, the letter after it upper-cased."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@functools.cache
def _names_of(message_type: descriptor.Descriptor) -> dict[str, FieldDescriptor]:
    """Every JSON key naming a field of the message: its proto name and its JSON name."""
    names = {field.json_name: field for field in message_type.fields}
    names.update(message_type.fields_by_name)
    return names


def _fill_update_mask(request: Message, body_field: FieldDescriptor, body: Any) -> None:
    """grpc-gateway's PATCH feature: an empty FieldMask gets the paths the body sets.

    Applies when the body is one message field and the request has exactly one FieldMask
    field, left empty by the client; the paths are proto names, dotted through sub-messages.
    """
    body_type = body_field.message_type
    masks = [
        field
        for field in request.DESCRIPTOR.fields
        if field.message_type is not None
        and field.message_type.full_name == "google.protobuf.FieldMask"
        and not field.is_repeated
    ]
    if body_type is None or body_field.is_repeated or len(masks) != 1 or not isinstance(body, dict):
        return

    mask = getattr(request, masks[0].name)
    if not mask.paths:
        mask.paths.extend(_mask_paths(body_type, body, ""))


def _mask_paths(
    message_type: descriptor.Descriptor, body: dict[str, Any], prefix: str
) -> list[str]:
    paths: list[str] = []
    for key, value in body.items():
        field = _field_by_name(message_type, key)
        if field is None:
            continue
        path = prefix + field.name
        nested = field.message_type
        if (
            isinstance(value, dict)
            and value
            and nested is not None
            and not field.is_repeated
            and nested.full_name not in _WRAPPERS | _JSON_TYPES
        ):
            paths.extend(_mask_paths(nested, value, path + "."))
        else:
            paths.append(path)
    return paths


# --- the path -------------------------------------------------------------------------------


def apply_path(
    request: Message, binding: Binding, components: Sequence[str], max_length: int
) -> None:
    """Decode, check and set every path variable of a matched request."""
    for path_field in binding.path_fields:
        value = decode_path_value(components, path_field, max_length)
        try:
            _set_from_texts(request, path_field.fields, [value])
        except _BadValue as exc:
            raise invalid_argument(
                f"invalid value for path parameter {path_field.name!r}: {exc}"
            ) from exc


def decode_path_value(components: Sequence[str], path_field: PathField, max_length: int) -> str:
    """The decoded, checked value of one path variable."""
    name = path_field.name
    try:
        if path_field.single_segment:
            value = unquote(components[path_field.start], errors="strict")
            if "/" in value:
                raise invalid_argument(f"path parameter {name!r} must not contain '/'")
        else:
            raw = components[path_field.start : path_field.end]
            value = "/".join(
                "%2F".join(unquote(part, errors="strict") for part in _ENCODED_SLASH.split(piece))
                for piece in raw
            )
    except UnicodeDecodeError as exc:
        raise invalid_argument(f"path parameter {name!r} is not valid UTF-8") from exc

    if not value:
        raise invalid_argument(f"missing required path parameter {name!r}")
    if any(segment in (".", "..") for segment in value.split("/")):
        raise invalid_argument(f"path parameter {name!r} must not be '.' or '..'")
    if _CONTROL.search(value):
        raise invalid_argument(f"path parameter {name!r} contains control characters")
    if len(value) > max_length:
        raise invalid_argument(f"path parameter {name!r} is longer than {max_length} characters")
    return value


# --- the query ------------------------------------------------------------------------------


def apply_query(request: Message, binding: Binding, query_string: bytes) -> None:
    """Set the fields named by query parameters (never for `body: "*"`)."""
    if binding.body == "*" or not query_string:
        return

    try:
        pairs = parse_qsl(query_string.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid_argument(f"malformed query string: {exc}") from exc

    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)

    for key, values in grouped.items():
        _apply_query_parameter(request, binding, key, values)


def _apply_query_parameter(request: Message, binding: Binding, key: str, values: list[str]) -> None:
    map_key: str | None = None
    matched = _MAP_KEY.match(key)
    if matched:
        key, map_key = matched.group(1), matched.group(2)

    chain = _resolve_query_path(binding.method.input_type, key)
    if chain is None:
        logger.debug("ignoring query parameter %r: no such field", key)
        return

    names = tuple(field.name for field in chain)
    if any(names[:n] in binding.query_filter for n in range(1, len(names) + 1)):
        return  # bound to the path or the body: grpc-gateway filters it out

    try:
        if map_key is not None:
            _set_map_entry(request, chain, map_key, values)
        else:
            _set_from_texts(request, chain, values)
    except _BadValue as exc:
        raise invalid_argument(f"invalid value for query parameter {key!r}: {exc}") from exc


def _resolve_query_path(
    message_type: descriptor.Descriptor, key: str
) -> tuple[FieldDescriptor, ...] | None:
    chain: list[FieldDescriptor] = []
    current: descriptor.Descriptor | None = message_type
    parts = key.split(".")

    for index, part in enumerate(parts):
        if current is None:
            raise invalid_argument(
                f"invalid query parameter {key!r}: {parts[index - 1]!r} is not a message"
            )
        field = _field_by_name(current, part)
        if field is None:
            return None
        if index < len(parts) - 1 and (field.is_repeated or field.message_type is None):
            raise invalid_argument(f"invalid query parameter {key!r}: {part!r} is not a message")
        chain.append(field)
        current = field.message_type

    return tuple(chain)


def _field_by_name(message_type: descriptor.Descriptor, name: str) -> FieldDescriptor | None:
    field = message_type.fields_by_name.get(name)
    if field is not None:
        return field
    for candidate in message_type.fields:
        if candidate.json_name == name:
            return candidate
    return None


# --- setting fields from text ---------------------------------------------------------------


def _set_from_texts(
    request: Message, chain: Sequence[FieldDescriptor], values: Sequence[str]
) -> None:
    target = _descend(request, chain)
    field = chain[-1]

    if _is_map(field):
        raise _BadValue("a map field takes parameters of the form field[key]=value")

    if field.is_repeated:
        container = getattr(target, field.name)
        for text in values:
            value = _value_from_text(field, text)
            if isinstance(value, Message):
                container.add().CopyFrom(value)
            else:
                container.append(value)
        return

    if len(values) > 1:
        raise _BadValue(f"a single value is expected, got {len(values)}")
    value = _value_from_text(field, values[0])
    if isinstance(value, Message):
        getattr(target, field.name).CopyFrom(value)
    else:
        setattr(target, field.name, value)


def _set_map_entry(
    request: Message, chain: Sequence[FieldDescriptor], key_text: str, values: Sequence[str]
) -> None:
    field = chain[-1]
    if not _is_map(field):
        raise _BadValue("not a map field")
    if len(values) > 1:
        raise _BadValue(f"a single value is expected for key {key_text!r}")

    target = _descend(request, chain)
    entry = field.message_type
    assert entry is not None  # a map field always has an entry type
    key = _value_from_text(entry.fields_by_name["key"], key_text)
    value = _value_from_text(entry.fields_by_name["value"], values[0])
    container = getattr(target, field.name)
    if isinstance(value, Message):
        container[key].CopyFrom(value)
    else:
        container[key] = value


def _descend(request: Message, chain: Sequence[FieldDescriptor]) -> Message:
    """The message holding the last field of the chain, checking oneofs on the way."""
    target = request
    for index, field in enumerate(chain):
        oneof = field.containing_oneof
        if oneof is not None:  # a proto3 `optional` field is alone in its synthetic oneof
            chosen = target.WhichOneof(oneof.name)
            if chosen is not None and chosen != field.name:
                raise _BadValue(f"field already set for oneof {oneof.name!r}")
        if index < len(chain) - 1:
            target = getattr(target, field.name)
    return target


def _is_map(field: FieldDescriptor) -> bool:
    entry = field.message_type
    return field.is_repeated and entry is not None and entry.GetOptions().map_entry


def _value_from_text(field: FieldDescriptor, text: str) -> Any:
    """A Python value (or message) for one field from one text value."""
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return text
    if kind in _INT_RANGES:
        return _parse_int(text, kind)
    if kind == FieldDescriptor.TYPE_BOOL:
        return _parse_bool(text)
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return _parse_float(text, kind == FieldDescriptor.TYPE_FLOAT)
    if kind == FieldDescriptor.TYPE_ENUM and field.enum_type is not None:
        return _parse_enum(field.enum_type, text)
    if kind == FieldDescriptor.TYPE_BYTES:
        return _parse_bytes(text)
    if kind == FieldDescriptor.TYPE_MESSAGE and field.message_type is not None:
        return _parse_message(field.message_type, text)
    raise _BadValue(f"unsupported field type {kind}")


def _parse_int(text: str, kind: int) -> int:
    low, high, name = _INT_RANGES[kind]
    if not _INT_TEXT.match(text):
        raise _BadValue(f"{text!r} is not an {name}")
    value = int(text)
    if not low <= value <= high:
        raise _BadValue(f"{text!r} is out of range for an {name}")
    return value


def _parse_bool(text: str) -> bool:
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _BadValue(f"{text!r} is not a bool")


def _parse_float(text: str, single: bool) -> float:
    word = _FLOAT_WORDS.get(text.lower())
    if word is not None:
        return word
    if not _FLOAT_TEXT.match(text):
        raise _BadValue(f"{text!r} is not a number")
    value = float(text)
    if math.isinf(value) or (single and abs(value) > _FLOAT32_MAX):
        raise _BadValue(f"{text!r} is out of range")
    return value


def _parse_enum(enum_type: descriptor.EnumDescriptor, text: str) -> int:
    by_name = enum_type.values_by_name.get(text)
    if by_name is not None:
        return by_name.number
    if _INT_TEXT.match(text) and int(text) in enum_type.values_by_number:
        return int(text)
    raise _BadValue(f"{text!r} is not a value of {enum_type.name}")


def _parse_bytes(text: str) -> bytes:
    for altchars in (None, b"-_"):
        try:
            return base64.b64decode(text, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
    raise _BadValue(f"{text!r} is not base64")


def _parse_message(message_type: descriptor.Descriptor, text: str) -> Message:
    value = message_factory.GetMessageClass(message_type)()
    full_name = message_type.full_name

    if full_name in _WRAPPERS:
        inner = _value_from_text(message_type.fields_by_name["value"], text)
        value.value = inner  # type: ignore[attr-defined]
        return value

    try:
        if full_name == "google.protobuf.Duration":
            value.FromJsonString(_duration_json(text))  # type: ignore[attr-defined]
        elif full_name in ("google.protobuf.Timestamp", "google.protobuf.FieldMask"):
            value.FromJsonString(text)  # type: ignore[attr-defined]
        elif full_name in _JSON_TYPES:
            json_format.ParseDict(json.loads(text), value)
        else:
            raise _BadValue(f"a {full_name} cannot be given as a single text value")
    except _BadValue:
        raise
    except Exception as exc:
        raise _BadValue(f"{text!r} is not a valid {message_type.name}: {exc}") from exc
    return value


def _duration_json(text: str) -> str:
    """Proto JSON duration text (`1.5s`) from itself or from Go syntax (`1m30s`)."""
    if text.endswith("s") and _FLOAT_TEXT.match(text[:-1]):
        return text

    sign, rest = ("-", text[1:]) if text.startswith("-") else ("", text.lstrip("+"))
    if rest == "0":
        return "0s"
    total = 0.0
    position = 0
    for matched in _GO_DURATION.finditer(rest):
        if matched.start() != position or not matched.group(1).strip("."):
            break
        total += float(matched.group(1)) * _GO_DURATION_UNITS[matched.group(2)]
        position = matched.end()
    if position != len(rest) or not rest:
        raise _BadValue(f"{text!r} is not a duration")
    return f"{sign}{total:.9f}s"


# --- the response ---------------------------------------------------------------------------


def message_to_json(msg: Message) -> Any:
    """Proto3 JSON of a message as Python data, with this project's output options."""
    return json_format.MessageToDict(msg, always_print_fields_with_no_presence=True)


def response_payload(binding: Binding, response: Message) -> Any:
    """What the HTTP body shows of a response: all of it, or its `response_body` field."""
    field = binding.response_field
    if field is None:
        return message_to_json(response)
    if field.message_type is not None and not field.is_repeated:
        return message_to_json(getattr(response, field.name))
    return message_to_json(response).get(field.json_name)


def encode_response(binding: Binding, response: Message) -> bytes:
    """The JSON body of a unary response."""
    return dump_json(response_payload(binding, response))


def encode_stream_result(binding: Binding, response: Message) -> bytes:
    """One newline-delimited chunk of a server stream: `{"result": ...}`."""
    return dump_json({"result": response_payload(binding, response)}) + b"\n"
