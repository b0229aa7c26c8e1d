"""Draft the `.proto` files of the published Workbench API from its OpenAPI document.

The console speaks the Swagger 2.0 document of Workbench v0.132.0, which protoc-gen-openapiv2
produced from the original `.proto` files. This tool runs that backwards for the operations that
`api-scope.md` puts in scope: for every operation it writes an rpc with its `google.api.http`
binding, the request message (path, query and body fields), the response message, and every
message and enum reachable from them, into `protos/amamba/...`.

It is a drafting aid, not a build step: the generated `.proto` files are committed and from then
on they are the source of the API. Regions between `// <<< hand-written NAME` and
`// >>> hand-written` are carried over when a file is redrafted, so hand-made additions inside a
generated file (extra rpcs, their messages) survive a rerun. Files the tool does not write
(`tenancy.proto`, `jenkins_instances.proto`) are never touched.

Usage:
    python tools/openapi2proto.py            # (re)write protos/amamba
    python tools/openapi2proto.py --check    # exit 1 if the files differ from a fresh draft

Choices the draft makes (the contract test in tests/contract checks the result):

- Packages come from the definition-name prefixes (`amambaioapitypesPage` is
  `amamba.io.api.types.Page`); short `v1alpha1X` names go to the package of the services that
  use them: core (Core, amamba.io Management), pipeline (Pipelines, GlobalBuildParameter,
  pipeline.amamba.io Management) or credential (Credentials). Kubernetes names keep their
  upstream packages (`k8s.io.api.core.v1`, `k8s.io.apimachinery.pkg.apis.meta.v1`, ...).
- Names like `PipelineArtifactLinks` or `ListPipelinesRequestGroupFilter` are nested types.
- Path templates name proto fields (`{workspace_id}`), as google.api.http requires; the
  document prints them with JSON names (`{workspaceId}`), as protoc-gen-openapiv2 does.
- A body parameter called `body` is `body: "*"`; its schema is the request itself (`$ref`)
  or the non-path fields (inline). Query parameters give the remaining request fields.
- Field names are snake_case with a `json_name` where the JSON name would differ; a name
  that is a Python keyword gets a trailing underscore (`global_`, JSON still `global`).
- Kubernetes messages keep the JSON shape the document shows: `Time` is `{seconds, nanos}`,
  `Quantity` is `{string}`, `IntOrString` is `{type, intVal, strVal}`; their scalars are
  `optional`, as in the upstream proto2 files, so unset fields are not printed.

The document's descriptions are deliberately not copied into comments.
"""

from __future__ import annotations

import argparse
import json
import keyword
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = Path(os.environ.get("WORKBENCH_REFERENCE", "/work/shared/reference"))
DEFAULT_DOC = REFERENCE / "amamba-openapi-v0.132.0.json"
DEFAULT_SCOPE = REFERENCE / "api-scope.md"
DEFAULT_OUT = ROOT / "protos"

Json = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Where things go
# --------------------------------------------------------------------------------------------

CORE = "amamba.io.api.core.v1alpha1"
PIPELINE = "amamba.io.api.pipeline.v1alpha1"
CREDENTIAL = "amamba.io.api.credential.v1alpha1"
TYPES = "amamba.io.api.types"
K8S_CORE = "k8s.io.api.core.v1"
K8S_META = "k8s.io.apimachinery.pkg.apis.meta.v1"
K8S_RESOURCE = "k8s.io.apimachinery.pkg.api.resource"
K8S_INTSTR = "k8s.io.apimachinery.pkg.util.intstr"


@dataclass(frozen=True)
class ServicePlace:
    name: str
    package: str
    file: str


# A service is a tag of the document; the document has two `Management` tags, told apart by the
# API group of their paths (`amamba.io` and `pipeline.amamba.io`).
SERVICES: dict[str, ServicePlace] = {
    "Core": ServicePlace("Core", CORE, "amamba/core/v1alpha1/core.proto"),
    "Management@amamba.io": ServicePlace(
        "Management", CORE, "amamba/core/v1alpha1/management.proto"
    ),
    "Pipelines": ServicePlace("Pipelines", PIPELINE, "amamba/pipeline/v1alpha1/pipelines.proto"),
    "GlobalBuildParameter": ServicePlace(
        "GlobalBuildParameter", PIPELINE, "amamba/pipeline/v1alpha1/global_build_parameter.proto"
    ),
    "Management@pipeline.amamba.io": ServicePlace(
        "Management", PIPELINE, "amamba/pipeline/v1alpha1/management.proto"
    ),
    "Credentials": ServicePlace(
        "Credentials", CREDENTIAL, "amamba/credential/v1alpha1/credentials.proto"
    ),
}

# Definition-name prefixes (the proto package without dots, or the tail of it that the
# generator kept) and the package each one stands for. Longest prefixes are tried first.
PREFIXES: dict[str, str] = {
    "amambaioapitypes": TYPES,
    "apitypes": TYPES,
    "types": TYPES,
    "amambaioapicorev1alpha1": CORE,
    "apicorev1alpha1": CORE,
    "corev1alpha1": CORE,
    "apipipelinev1alpha1": PIPELINE,
    "pipelinev1alpha1": PIPELINE,
    "corev1": K8S_CORE,
    "metav1": K8S_META,
    "apiresource": K8S_RESOURCE,
    "intstr": K8S_INTSTR,
}
# `v1X` names are Kubernetes; these few belong to apimachinery's meta/v1, the rest to core/v1.
META_V1_NAMES = {
    "Time",
    "MicroTime",
    "Duration",
    "FieldsV1",
    "ManagedFieldsEntry",
    "ObjectMeta",
    "ListMeta",
    "OwnerReference",
    "LabelSelector",
    "LabelSelectorRequirement",
    "Condition",
    "Status",
    "StatusDetails",
    "StatusCause",
}
PACKAGE_FILES: dict[str, str] = {
    TYPES: "amamba/types/types.proto",
    K8S_CORE: "amamba/k8s/core/v1/core.proto",
    K8S_META: "amamba/k8s/meta/v1/meta.proto",
    K8S_RESOURCE: "amamba/k8s/resource/resource.proto",
    K8S_INTSTR: "amamba/k8s/intstr/intstr.proto",
}
K8S_PACKAGES = {K8S_CORE, K8S_META, K8S_RESOURCE, K8S_INTSTR}
# Messages that exist already as well-known or common protos.
EXTERNAL: dict[str, tuple[str, str]] = {
    "protobufAny": ("google.protobuf.Any", "google/protobuf/any.proto"),
    "googlerpcStatus": ("google.rpc.Status", "google/rpc/status.proto"),
}
EMPTY = ("google.protobuf.Empty", "google/protobuf/empty.proto")
TIMESTAMP = ("google.protobuf.Timestamp", "google/protobuf/timestamp.proto")
ANNOTATIONS = "google/api/annotations.proto"

HEADERS: dict[str, str] = {
    CORE: "Workbench core: workspaces, clusters, namespaces and platform settings.",
    PIPELINE: "Workbench pipelines: Jenkins pipelines, runs, templates and build parameters.",
    CREDENTIAL: "Workbench credentials kept per workspace for pipelines.",
    TYPES: "Types shared by every Workbench API group: paging, sorting, quantities.",
    K8S_CORE: "The subset of Kubernetes core/v1 that Workbench carries (pod templates).",
    K8S_META: "The subset of Kubernetes apimachinery meta/v1 that Workbench carries.",
    K8S_RESOURCE: "Kubernetes resource quantities, in the JSON shape the Workbench API uses.",
    K8S_INTSTR: "Kubernetes int-or-string, in the JSON shape the Workbench API uses.",
}

HAND_BEGIN = re.compile(r"^\s*// <<< hand-written (\S+)\s*$")
HAND_END = re.compile(r"^\s*// >>> hand-written\s*$")


class DraftError(Exception):
    """The document holds something this tool cannot translate."""


# --------------------------------------------------------------------------------------------
# Reading the inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    operation_id: str
    verb: str
    path: str


SCOPE_ROW = re.compile(r"^\| (\w+_\w+) \| (GET|POST|PUT|DELETE|PATCH) \| `([^`]+)` \|", re.M)


def read_scope(text: str) -> list[Operation]:
    """The in-scope operations, in the order of the table in api-scope.md."""
    return [Operation(m[1], m[2].lower(), m[3]) for m in SCOPE_ROW.finditer(text)]


def service_key(tag: str, path: str) -> str:
    group = path.split("/")[2]
    return f"{tag}@{group}" if tag == "Management" else tag


# --------------------------------------------------------------------------------------------
# The model that becomes proto text
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeRef:
    """A field type: a scalar keyword, or a fully qualified message/enum name."""

    name: str
    scalar: bool = False
    import_file: str | None = None


@dataclass
class Field:
    json_name: str
    type: TypeRef
    repeated: bool = False
    map_value: TypeRef | None = None
    optional: bool = False


@dataclass
class Message:
    full_name: str  # package.Name or package.Parent.Name
    fields: list[Field] = field(default_factory=list)
    nested: list[Message | Enum] = field(default_factory=list)


@dataclass
class Enum:
    full_name: str
    values: list[str]


@dataclass
class Rpc:
    name: str
    request: str
    response: TypeRef
    verb: str
    path: str
    body: str | None


@dataclass
class ProtoFile:
    path: str
    package: str
    services: dict[str, list[Rpc]] = field(default_factory=dict)
    types: list[Message | Enum] = field(default_factory=list)


def scalar(name: str) -> TypeRef:
    return TypeRef(name, scalar=True)


# --------------------------------------------------------------------------------------------
# Drafting
# --------------------------------------------------------------------------------------------


class Drafter:
    def __init__(self, doc: Json, operations: list[Operation]) -> None:
        self.doc = doc
        self.defs: dict[str, Json] = doc["definitions"]
        self.operations = operations
        # definition name -> (package, relative name such as "Parent.Child")
        self.placed: dict[str, tuple[str, str]] = {}
        # definition name -> the service keys that reach it
        self.users: dict[str, set[str]] = {}
        # relative names of request messages per package, for nested definitions
        self.request_names: dict[str, set[str]] = {}
        self.files: dict[str, ProtoFile] = {}
        self.type_file: dict[str, str] = {}  # full name of a top-level type -> file
        self.request_file: dict[str, str] = {}  # full name of a drafted request -> file

    # ---- operations -------------------------------------------------------------------------

    def op(self, operation: Operation) -> Json:
        try:
            item: Json = self.doc["paths"][operation.path][operation.verb]
        except KeyError as exc:
            raise DraftError(f"{operation} is not in the document") from exc
        if item["operationId"] != operation.operation_id:
            raise DraftError(f"{operation}: the document says {item['operationId']}")
        return item

    def service_of(self, operation: Operation) -> str:
        tags: list[str] = self.op(operation)["tags"]
        key = service_key(tags[0], operation.path)
        if key not in SERVICES:
            raise DraftError(f"no package chosen for the service {key}")
        return key

    # ---- placing definitions ------------------------------------------------------------------

    def refs_in(self, schema: Any) -> Iterator[str]:
        if isinstance(schema, dict):
            ref = schema.get("$ref")
            if isinstance(ref, str):
                yield ref.rsplit("/", 1)[-1]
            for key, value in schema.items():
                if key != "$ref":
                    yield from self.refs_in(value)
        elif isinstance(schema, list):
            for item in schema:
                yield from self.refs_in(item)

    def reach(self, names: list[str], user: str) -> None:
        todo = list(names)
        while todo:
            name = todo.pop()
            users = self.users.setdefault(name, set())
            if user in users:
                continue
            users.add(user)
            if name not in EXTERNAL:
                todo.extend(self.refs_in(self.defs[name]))

    def split_prefix(self, name: str) -> tuple[str, str] | None:
        for prefix in sorted(PREFIXES, key=len, reverse=True):
            rest = name[len(prefix) :]
            if name.startswith(prefix) and rest[:1].isupper():
                return PREFIXES[prefix], rest
        if name.startswith("v1") and name[2:3].isupper():
            rest = name[2:]
            return (K8S_META if rest in META_V1_NAMES else K8S_CORE), rest
        return None

    def place_all(self) -> None:
        nested: list[str] = []
        for name, users in self.users.items():
            if name in EXTERNAL:
                continue
            split = self.split_prefix(name)
            if split is not None:
                self.placed[name] = split
            elif name.startswith("v1alpha1") and name[8:9].isupper():
                packages = {SERVICES[user].package for user in users}
                if len(packages) != 1:
                    raise DraftError(f"{name} is used from several packages: {sorted(packages)}")
                self.placed[name] = (packages.pop(), name[8:])
            elif name[:1].isupper():
                nested.append(name)
            else:
                raise DraftError(f"cannot tell the package of {name}")
        # Definitions named Parent+Child without a package are nested types.
        for name in nested:
            users = self.users[name]
            packages = {SERVICES[user].package for user in users}
            parent = self.nested_parent(name, packages)
            if parent is None:
                raise DraftError(f"cannot find the message that holds {name}")
            package, parent_name = parent
            self.placed[name] = (package, f"{parent_name}.{name[len(parent_name) :]}")

    def nested_parent(self, name: str, packages: set[str]) -> tuple[str, str] | None:
        candidates: list[tuple[str, str]] = []
        for package, relative in self.placed.values():
            candidates.append((package, relative))
        for package, names in self.request_names.items():
            candidates.extend((package, n) for n in names)
        best: tuple[str, str] | None = None
        for package, relative in candidates:
            if "." in relative or package not in packages:
                continue
            fits = name.startswith(relative) and name[len(relative) :][:1].isupper()
            if fits and (best is None or len(relative) > len(best[1])):
                best = (package, relative)
        return best

    def full_name(self, definition: str) -> str:
        if definition in EXTERNAL:
            return EXTERNAL[definition][0]
        package, relative = self.placed[definition]
        return f"{package}.{relative}"

    def file_for_definition(self, definition: str) -> str:
        package, relative = self.placed[definition]
        if package in PACKAGE_FILES:
            return PACKAGE_FILES[package]
        top = relative.split(".")[0]
        owner = next((d for d, (p, r) in self.placed.items() if p == package and r == top), None)
        users = self.users[owner if owner is not None else definition]
        files = {SERVICES[user].file for user in users if SERVICES[user].package == package}
        if len(files) == 1:
            return files.pop()
        base = SERVICES[sorted(users)[0]].file.rsplit("/", 1)[0]
        return f"{base}/common.proto"

    # ---- types ---------------------------------------------------------------------------------

    def type_of(self, schema: Json, where: str) -> tuple[TypeRef, bool, TypeRef | None]:
        """(type, repeated, map value) of a property schema."""
        if "$ref" in schema:
            return self.ref_type(schema["$ref"].rsplit("/", 1)[-1]), False, None
        kind = schema.get("type")
        fmt = schema.get("format")
        if kind == "array":
            item, repeated, map_value = self.type_of(schema["items"], where)
            if repeated or map_value is not None:
                raise DraftError(f"{where}: arrays of arrays or maps have no proto form")
            return item, True, None
        if kind == "object":
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                value, repeated, map_value = self.type_of(extra, where)
                if repeated or map_value is not None:
                    raise DraftError(f"{where}: maps of arrays or maps have no proto form")
                return scalar("map"), False, value
            raise DraftError(f"{where}: inline object without a definition")
        if kind == "string":
            if fmt == "int64":
                return scalar("int64"), False, None
            if fmt == "uint64":
                return scalar("uint64"), False, None
            if fmt == "byte":
                return scalar("bytes"), False, None
            if fmt == "date-time":
                return TypeRef(TIMESTAMP[0], import_file=TIMESTAMP[1]), False, None
            if "enum" in schema:
                return self.enum_by_values(schema["enum"], where), False, None
            return scalar("string"), False, None
        if kind == "integer":
            return (
                scalar(
                    {"int64": "int64", "uint32": "uint32", "uint64": "uint64"}.get(
                        fmt or "", "int32"
                    )
                ),
                False,
                None,
            )
        if kind == "number":
            return scalar("float" if fmt == "float" else "double"), False, None
        if kind == "boolean":
            return scalar("bool"), False, None
        raise DraftError(f"{where}: unknown schema {schema}")

    def ref_type(self, definition: str) -> TypeRef:
        if definition in EXTERNAL:
            name, path = EXTERNAL[definition]
            return TypeRef(name, import_file=path)
        return TypeRef(self.full_name(definition))

    def enum_by_values(self, values: list[str], where: str) -> TypeRef:
        matches = [
            name
            for name, schema in self.defs.items()
            if schema.get("enum") == values and name in self.placed
        ]
        if not matches:
            raise DraftError(f"{where}: no placed enum definition has the values {values}")
        matches.sort(key=lambda n: (not n.startswith("amambaio"), len(n)))
        return self.ref_type(matches[0])

    def enum_candidates(self, values: list[str]) -> list[str]:
        """Enum definitions that a query parameter with these values may stand for.

        Definitions of foreign packages (`kolmioapitypesSortBy`) are left out; short
        `v1alpha1X` names are taken only when nothing with a known package matches.
        """
        found = [n for n, s in self.defs.items() if s.get("enum") == values]
        return [n for n in found if self.split_prefix(n) is not None or not n[:1].islower()] or [
            n for n in found if n.startswith("v1alpha1")
        ]

    def message_from_schema(self, full_name: str, schema: Json, k8s: bool) -> Message:
        message = Message(full_name)
        for prop, sub in schema.get("properties", {}).items():
            kind, repeated, map_value = self.type_of(sub, f"{full_name}.{prop}")
            optional = k8s and kind.scalar and not repeated and map_value is None
            message.fields.append(Field(prop, kind, repeated, map_value, optional))
        return message

    def definition_type(self, definition: str) -> Message | Enum:
        schema = self.defs[definition]
        full = self.full_name(definition)
        if "enum" in schema:
            return Enum(full, list(schema["enum"]))
        if schema.get("type") != "object":
            raise DraftError(f"{definition} is neither an object nor an enum")
        package = self.placed[definition][0]
        return self.message_from_schema(full, schema, package in K8S_PACKAGES)

    # ---- the whole draft ---------------------------------------------------------------------

    def draft(self) -> dict[str, ProtoFile]:
        plans: list[tuple[Operation, str, Json]] = []
        for operation in self.operations:
            item = self.op(operation)
            key = self.service_of(operation)
            plans.append((operation, key, item))
            names: list[str] = []
            for param in item.get("parameters", []):
                names.extend(self.refs_in(param))
                values = param.get("enum") or param.get("items", {}).get("enum")
                if values:
                    names.extend(self.enum_candidates(values))
            names.extend(self.refs_in(item["responses"]["200"]))
            method = operation.operation_id.split("_", 1)[1]
            names.extend(
                n for n in self.defs if n.startswith(f"{method}Request") and n != f"{method}Request"
            )
            self.reach(names, key)
            self.request_names.setdefault(SERVICES[key].package, set()).add(f"{method}Request")
        self.place_all()
        self.check_unique_names()

        rpcs: dict[str, list[Rpc]] = {}
        requests: dict[str, Message] = {}
        for operation, key, item in plans:
            rpc, request = self.plan_rpc(operation, key, item)
            rpcs.setdefault(key, []).append(rpc)
            if request is not None:
                requests[request.full_name] = request

        for key, service_rpcs in rpcs.items():
            place = SERVICES[key]
            proto = self.file(place.file, place.package)
            proto.services[place.name] = service_rpcs

        by_full: dict[str, Message | Enum] = {}
        for definition in sorted(self.placed, key=lambda d: self.placed[d][1]):
            by_full[self.full_name(definition)] = self.definition_type(definition)
        by_full.update(requests)
        # Attach nested types to their parents; place top-level ones in their files.
        for full, entry in by_full.items():
            package, relative = self.split_full(full)
            if "." in relative:
                parent = by_full[f"{package}.{relative.rsplit('.', 1)[0]}"]
                if not isinstance(parent, Message):
                    raise DraftError(f"{full} nests inside an enum")
                parent.nested.append(entry)
                continue
            owner = next((d for d in self.placed if self.full_name(d) == full), None)
            if owner is not None:
                target = self.file_for_definition(owner)
            else:
                target = self.request_file[full]
            self.file(target, package).types.append(entry)
            self.type_file[full] = target
        self.check_enum_values()
        return self.files

    def split_full(self, full: str) -> tuple[str, str]:
        for package in sorted({p for p, _ in self.placed.values()}, key=len, reverse=True):
            if full.startswith(package + "."):
                return package, full[len(package) + 1 :]
        raise DraftError(f"no package for {full}")

    def file(self, path: str, package: str) -> ProtoFile:
        proto = self.files.setdefault(path, ProtoFile(path, package))
        if proto.package != package:
            raise DraftError(f"{path} would hold two packages")
        return proto

    def plan_rpc(self, operation: Operation, key: str, item: Json) -> tuple[Rpc, Message | None]:
        place = SERVICES[key]
        method = operation.operation_id.split("_", 1)[1]
        params: list[Json] = item.get("parameters", [])
        body = next((p for p in params if p["in"] == "body"), None)
        path_params = [p for p in params if p["in"] == "path"]
        query_params = [p for p in params if p["in"] == "query"]
        template_order = re.findall(r"\{([^}=]+)", operation.path)
        path_params.sort(key=lambda p: template_order.index(p["name"]))

        request: Message | None
        body_rule: str | None = None
        if body is not None and "$ref" in body["schema"]:
            definition = body["schema"]["$ref"].rsplit("/", 1)[-1]
            if body["name"] != "body":
                raise DraftError(f"{operation}: body bound to a field is not drafted")
            if path_params or query_params:
                raise DraftError(f"{operation}: a named request message with path fields")
            request_name = self.full_name(definition)
            request = None
            body_rule = "*"
        else:
            request_name = f"{place.package}.{method}Request"
            if any(self.full_name(d) == request_name for d in self.placed):
                raise DraftError(f"{request_name} clashes with a definition")
            request = Message(request_name)
            for param in path_params:
                request.fields.append(Field(param["name"], self.param_type(param, operation)))
            if body is not None:
                if body["name"] != "body":
                    raise DraftError(f"{operation}: body bound to a field is not drafted")
                body_rule = "*"
                inline = self.message_from_schema(request_name, body["schema"], False)
                request.fields.extend(inline.fields)
            groups: dict[str, list[Json]] = {}
            for param in query_params:
                head, _, tail = param["name"].partition(".")
                if tail:
                    groups.setdefault(head, []).append(param)
                    if len(groups[head]) == 1:  # keep its place; its type is found below
                        request.fields.append(Field(head, scalar("pending")))
                    continue
                kind = self.param_type(param, operation)
                repeated = param.get("type") == "array"
                request.fields.append(Field(param["name"], kind, repeated))
            for head, members in groups.items():
                holder = self.query_holder(method, head, members, place.package)
                index = next(i for i, f in enumerate(request.fields) if f.json_name == head)
                request.fields[index] = Field(head, holder)
            self.request_file[request_name] = place.file

        schema = item["responses"]["200"].get("schema", {})
        if "$ref" in schema:
            response = self.ref_type(schema["$ref"].rsplit("/", 1)[-1])
        elif schema.get("properties") == {} or not schema:
            response = TypeRef(EMPTY[0], import_file=EMPTY[1])
        else:
            raise DraftError(f"{operation}: inline response schema")
        rpc = Rpc(
            method, request_name, response, operation.verb, template(operation.path), body_rule
        )
        return rpc, request

    def query_holder(self, method: str, head: str, members: list[Json], package: str) -> TypeRef:
        wanted = {m["name"].split(".", 1)[1] for m in members}
        for name in self.defs:
            if not name.startswith(f"{method}Request") or name not in self.placed:
                continue
            if wanted <= set(self.defs[name].get("properties", {})):
                return self.ref_type(name)
        raise DraftError(f"{method}: no definition holds the query fields {head}.{sorted(wanted)}")

    def param_type(self, param: Json, operation: Operation) -> TypeRef:
        schema = {k: v for k, v in param.items() if k in ("type", "format", "enum", "items")}
        kind, _, _ = self.type_of(schema, f"{operation.operation_id}.{param['name']}")
        return kind

    def check_unique_names(self) -> None:
        seen: dict[tuple[str, str], str] = {}
        for definition, place in self.placed.items():
            if place in seen:
                raise DraftError(f"{definition} and {seen[place]} are both {place}")
            seen[place] = definition

    def check_enum_values(self) -> None:
        """Top-level enum values share their package's scope: they must not collide."""
        scope: dict[tuple[str, str], str] = {}
        for proto in self.files.values():
            for item in proto.types:
                if isinstance(item, Enum):
                    for value in item.values:
                        owner = scope.setdefault((proto.package, value), item.full_name)
                        if owner != item.full_name:
                            raise DraftError(f"{value} is in {owner} and {item.full_name}")


# --------------------------------------------------------------------------------------------
# Writing proto text
# --------------------------------------------------------------------------------------------


def json_name_of(proto_name: str) -> str:
    """protoc's default JSON name for a field name."""
    out: list[str] = []
    upper = False
    for char in proto_name:
        if char == "_":
            upper = True
        elif upper:
            out.append(char.upper())
            upper = False
        else:
            out.append(char)
    return "".join(out)


def proto_field_name(json_name: str) -> str:
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", json_name).lower()
    if keyword.iskeyword(snake) or keyword.issoftkeyword(snake):
        snake += "_"
    return snake


class Writer:
    def __init__(self, proto: ProtoFile, type_file: dict[str, str]) -> None:
        self.proto = proto
        self.type_file = type_file
        self.imports: set[str] = set()
        self.lines: list[str] = []

    def ref(self, kind: TypeRef, scope: str) -> str:
        if kind.scalar:
            return kind.name
        if kind.import_file:
            self.imports.add(kind.import_file)
        top = self.top_level(kind.name)
        path = self.type_file.get(top)
        if path is not None and path != self.proto.path:
            self.imports.add(path)
        package = self.proto.package
        if kind.name.startswith(package + "."):
            relative = kind.name[len(package) + 1 :]
            # A name nested in the message being written is written from that message.
            if relative.startswith(scope + ".") and scope:
                return relative[len(scope) + 1 :]
            return relative
        return "." + kind.name

    def top_level(self, full: str) -> str:
        for candidate in self.type_file:
            if full == candidate or full.startswith(candidate + "."):
                return candidate
        return full

    def field_line(self, item: Field, number: int, scope: str, indent: str) -> str:
        name = proto_field_name(item.json_name)
        options = (
            "" if json_name_of(name) == item.json_name else f' [json_name = "{item.json_name}"]'
        )
        if item.map_value is not None:
            kind = f"map<string, {self.ref(item.map_value, scope)}>"
        else:
            kind = self.ref(item.type, scope)
        label = "repeated " if item.repeated else "optional " if item.optional else ""
        return f"{indent}{label}{kind} {name} = {number}{options};"

    def write_type(self, item: Message | Enum, indent: str) -> None:
        package = self.proto.package
        relative = item.full_name[len(package) + 1 :]
        short = relative.rsplit(".", 1)[-1]
        if isinstance(item, Enum):
            self.lines.append(f"{indent}enum {short} {{")
            for number, value in enumerate(item.values):
                self.lines.append(f"{indent}  {value} = {number};")
            self.lines.append(f"{indent}}}")
            return
        self.lines.append(f"{indent}message {short} {{")
        for nested in item.nested:
            self.write_type(nested, indent + "  ")
        for number, member in enumerate(item.fields, start=1):
            self.lines.append(self.field_line(member, number, relative, indent + "  "))
        self.lines.append(f"{indent}}}")

    def render(self, kept: dict[str, list[str]]) -> str:
        body: list[str] = []
        self.lines = body
        for service, rpcs in self.proto.services.items():
            body.append(f"service {service} {{")
            for rpc in rpcs:
                request = self.ref(TypeRef(rpc.request), "")
                response = self.ref(rpc.response, "")
                self.imports.add(ANNOTATIONS)
                body.append(f"  rpc {rpc.name}({request}) returns ({response}) {{")
                body.append("    option (google.api.http) = {")
                body.append(f'      {rpc.verb}: "{rpc.path}"')
                if rpc.body:
                    body.append(f'      body: "{rpc.body}"')
                body.append("    };")
                body.append("  }")
            body.extend(hand_region(f"service.{service}", kept, "  "))
            body.append("}")
            body.append("")
        for item in self.proto.types:
            self.write_type(item, "")
            body.append("")
        body.extend(hand_region("messages", kept, ""))
        header = [
            "// Drafted by tools/openapi2proto.py from the published Workbench OpenAPI document;",
            "// committed, this file is the source. Edit it by hand inside the hand-written",
            "// regions, or redraft it with the tool.",
            f"// {HEADERS.get(self.proto.package, '')}".rstrip(),
            "",
            'syntax = "proto3";',
            "",
            f"package {self.proto.package};",
            "",
        ]
        header.extend(f'import "{path}";' for path in sorted(self.imports))
        header.extend(hand_region("imports", kept, ""))
        header.append("")
        text = "\n".join(header + body).rstrip() + "\n"
        return re.sub(r"\n{3,}", "\n\n", text)


def template(path: str) -> str:
    """The binding of a document path: variables name proto fields, not their JSON names.

    protoc-gen-openapiv2 prints `{workspace_id}` as `{workspaceId}`; this undoes that.
    """
    return re.sub(
        r"\{([^}=]+)",
        lambda m: "{" + ".".join(proto_field_name(part) for part in m[1].split(".")),
        path,
    )


def hand_region(name: str, kept: dict[str, list[str]], indent: str) -> list[str]:
    return [
        f"{indent}// <<< hand-written {name}",
        *kept.get(name, []),
        f"{indent}// >>> hand-written",
    ]


def read_hand_written(text: str) -> dict[str, list[str]]:
    """The hand-written regions of an existing file, by name."""
    regions: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        begin = HAND_BEGIN.match(line)
        if begin:
            current = begin.group(1)
            regions[current] = []
        elif HAND_END.match(line):
            current = None
        elif current is not None:
            regions[current].append(line)
    return regions


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC)
    parser.add_argument("--scope", type=Path, default=DEFAULT_SCOPE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)

    doc: Json = json.loads(args.doc.read_text(encoding="utf-8"))
    operations = read_scope(args.scope.read_text(encoding="utf-8"))
    try:
        files = Drafter(doc, operations).draft()
    except DraftError as exc:
        print(f"openapi2proto: {exc}", file=sys.stderr)
        return 2
    type_file: dict[str, str] = {}
    for proto in files.values():
        for item in proto.types:
            type_file[item.full_name] = proto.path

    stale: list[str] = []
    for path, proto in sorted(files.items()):
        target = args.out / path
        old = target.read_text(encoding="utf-8") if target.exists() else ""
        text = Writer(proto, type_file).render(read_hand_written(old))
        if text == old:
            continue
        stale.append(path)
        if not args.check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'differs' if args.check else 'wrote'}: {path}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
