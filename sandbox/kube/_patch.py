"""The four PATCH flavours, applied to plain JSON objects.

- JSON patch (RFC 6902) is delegated to the `jsonpatch` package: a body that is not a list of
  operations is a 400, an operation that cannot be applied (a failed `test`, a missing path)
  is a 422, as in the real server's patch handler.
- JSON merge patch (RFC 7386) is written here because it is ten lines: `null` deletes a key,
  objects merge recursively, anything else (lists included) replaces.
- Strategic merge patch is simplified. The real one reads `patchStrategy`/`patchMergeKey` from
  Go struct tags; here a table names the list fields Workbench touches that merge by key
  (containers and env by `name`, volume mounts by `mountPath`, ports by `containerPort` or
  `port`, conditions by `type`, owner references by `uid`) and `finalizers`, which merges as a
  set. Other lists replace. The directives `$patch: replace|delete`,
  `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>` (ignored) are understood.
- Server-side apply is simplified to what callers observe: a required `fieldManager`, field
  ownership recorded per Apply manager in `metadata.managedFields` (lists are atomic), a 409
  when another Apply manager owns a field the request sets to a different value (unless
  `force`), forced fields changing owner, and fields a manager stops applying being removed
  when nobody else owns them. Ownership by non-apply writers (PUT, other patches) is not
  tracked, so those never conflict.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import jsonpatch

from sandbox.kube._errors import Cause, StatusError, bad_request

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# List fields that merge item by item, and the key that identifies an item.
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
}
# Lists of scalars that merge as ordered sets.
_PRIMITIVE_MERGE = {"finalizers"}

# Top-level and metadata fields that identify an object rather than belong to a manager.
_IDENTITY = {"apiVersion", "kind"}
_SERVER_METADATA = {
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "generateName",
}

Path = tuple[str, ...]


def json_patch(obj: dict[str, Any], operations: Any) -> dict[str, Any]:
    """Apply an RFC 6902 patch."""
    if not isinstance(operations, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    try:
        patch = jsonpatch.JsonPatch(operations)
        result = patch.apply(obj)
    except (jsonpatch.InvalidJsonPatch, TypeError) as exc:
        raise bad_request(str(exc)) from exc
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise StatusError(422, "Invalid", str(exc)) from exc
    if not isinstance(result, dict):
        raise StatusError(422, "Invalid", "the patch replaced the whole object with a non-object")
    return result


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _merge_key(field: str, items: Iterable[Any]) -> str | None:
    if field == "ports":
        dicts = [i for i in items if isinstance(i, dict)]
        return "containerPort" if any("containerPort" in i for i in dicts) else "port"
    return _MERGE_KEYS.get(field)


def _strategic_list(field: str, original: list[Any], patch: list[Any]) -> list[Any]:
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [i for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    if field in _PRIMITIVE_MERGE:
        return original + [i for i in patch if i not in original]
    key = _merge_key(field, original + patch)
    if key is None or not all(isinstance(i, dict) for i in patch):
        return copy.deepcopy(patch)

    result = copy.deepcopy(original)
    for item in patch:
        position = next(
            (
                n
                for n, old in enumerate(result)
                if isinstance(old, dict) and old.get(key) == item.get(key)
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if position is not None:
                del result[position]
        elif position is None:
            result.append(strategic_merge({}, item))
        else:
            result[position] = strategic_merge(result[position], item)
    return result


def strategic_merge(original: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Apply a (simplified) strategic merge patch; see the module docstring."""
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = copy.deepcopy(original)

    for key, value in patch.items():
        if key.startswith(("$setElementOrder/", "$retainKeys")) or key == "$patch":
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list) and isinstance(value, list):
                result[field] = [i for i in result[field] if i not in value]
            continue
        if value is None or (isinstance(value, dict) and value.get("$patch") == "delete"):
            result.pop(key, None)
        elif isinstance(value, dict):
            current = result.get(key)
            result[key] = strategic_merge(current if isinstance(current, dict) else {}, value)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _strategic_list(key, result[key], value)
        elif isinstance(value, list):
            result[key] = _strategic_list(key, [], value)
        else:
            result[key] = value

    return result


# --- server-side apply --------------------------------------------------------------------


def _leaf_paths(node: Any, prefix: Path = ()) -> set[Path]:
    if not isinstance(node, dict) or not node:
        return {prefix}
    paths: set[Path] = set()
    for key, value in node.items():
        paths |= _leaf_paths(value, (*prefix, key))
    return paths


def _owned_paths(config: dict[str, Any]) -> set[Path]:
    """The leaf fields an applied configuration sets, without identity and server fields."""
    body = {k: v for k, v in config.items() if k not in _IDENTITY and k != "metadata"}
    paths = _leaf_paths(body) if body else set()
    metadata = {
        k: v for k, v in (config.get("metadata") or {}).items() if k not in _SERVER_METADATA
    }
    if metadata:
        paths |= {("metadata", *p) for p in _leaf_paths(metadata)}
    return {p for p in paths if p}


def _to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for part in path:
            node = node.setdefault(f"f:{part}", {})
    return tree


def _from_fields_v1(tree: dict[str, Any], prefix: Path = ()) -> set[Path]:
    paths: set[Path] = set()
    for key, child in tree.items():
        if not key.startswith("f:"):
            continue
        path = (*prefix, key[2:])
        paths |= _from_fields_v1(child, path) if child else {path}
    return paths


def _get(obj: Any, path: Path) -> Any:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return _MISSING
        obj = obj[part]
    return obj


def _delete(obj: dict[str, Any], path: Path) -> None:
    parent = _get(obj, path[:-1])
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


def _overlaps(a: Path, b: Path) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


_MISSING = object()


def server_side_apply(
    existing: dict[str, Any] | None,
    config: dict[str, Any],
    manager: str,
    *,
    force: bool,
    api_version: str,
) -> dict[str, Any]:
    """The object after `manager` applies `config` to `existing` (None: create)."""
    result = copy.deepcopy(existing) if existing is not None else {}
    managed: list[dict[str, Any]] = list((result.get("metadata") or {}).get("managedFields") or [])
    owners = {
        entry["manager"]: _from_fields_v1(entry.get("fieldsV1") or {})
        for entry in managed
        if entry.get("operation") == "Apply"
    }
    wanted = _owned_paths(config)

    # Fields another Apply manager owns and this request sets to a different value.
    conflicts: list[tuple[str, Path]] = []
    for other, paths in owners.items():
        if other == manager:
            continue
        for path in sorted(paths):
            clash = [w for w in wanted if _overlaps(w, path) and _get(config, w) != _get(result, w)]
            if clash:
                conflicts.append((other, path))
    if conflicts and not force:
        causes = [
            Cause("FieldManagerConflict", f'conflict with "{o}"', "." + ".".join(p))
            for o, p in conflicts
        ]
        listed = "\n".join(f'- conflict with "{o}": .{".".join(p)}' for o, p in conflicts)
        raise StatusError(
            409,
            "Conflict",
            f"Apply failed with {len(conflicts)} conflict(s):\n{listed}",
            {"causes": [c.to_dict() for c in causes]},
        )
    for other, path in conflicts:
        owners[other] = {p for p in owners[other] if not _overlaps(p, path)}

    # Fields this manager applied before, no longer applies, and nobody else owns go away.
    others = set().union(*(p for m, p in owners.items() if m != manager))
    for path in owners.get(manager, set()) - wanted:
        if not any(_overlaps(path, o) for o in others):
            _delete(result, path)

    for path in sorted(wanted):
        value = _get(config, path)
        node = result
        for part in path[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[path[-1]] = copy.deepcopy(value)
    for key in ("apiVersion", "kind"):
        if key in config:
            result[key] = config[key]
    metadata = result.setdefault("metadata", {})
    for key in ("name", "namespace"):
        if key in (config.get("metadata") or {}):
            metadata.setdefault(key, config["metadata"][key])

    owners[manager] = wanted
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    entries = [e for e in managed if e.get("operation") != "Apply"]
    for name, paths in owners.items():
        if paths:
            entries.append(
                {
                    "manager": name,
                    "operation": "Apply",
                    "apiVersion": api_version,
                    "time": now,
                    "fieldsType": "FieldsV1",
                    "fieldsV1": _to_fields_v1(paths),
                }
            )
    metadata["managedFields"] = entries
    return result
