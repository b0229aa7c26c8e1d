"""Plain-dict Kubernetes objects for reconcilers: a watched cache and owned-field patches.

A reconciler that owns a few fields of an object (some labels, a few spec keys) must write
only when those fields differ from what it wants, so a converged system makes no writes at
all. Two pieces make that cheap and exact:

- `ObjectCache` keeps the objects a `ListWatch` reports, by (namespace, name), so a
  reconcile reads the actual state from memory instead of asking the API server each time.
  It is fed by `handle(event_type, obj)`, the `ListWatch` handler, and calls an optional
  `on_event(obj)` afterwards so the caller can enqueue the owning key, once with the object
  as reported and once with its previous known state: an object that leaves a label
  selector may be reported without the label that says who owned it, and an object whose
  owner label changed concerns both owners. After its own write
  a reconciler calls `remember(obj)` with the server's answer: the watch event for that write
  may arrive later, and until then the cache would show the state from before the write.
- `owned_patch(actual, desired)` is the smallest RFC 7386 merge patch that makes the fields
  named in `desired` equal in `actual`; `{}` when nothing differs. Fields absent from
  `desired` are never touched: other writers (Argo CD, a person with kubectl) may own them.
  An empty list or mapping in `desired` matches a missing field, because the API server and
  other clients may drop empty values and they mean the same thing.

Objects are the JSON the API server sends (`metadata.name` and so on), never the typed
client models, so the same code serves built-in kinds and custom resources.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from kubernetes_asyncio.client.exceptions import ApiException

__all__ = [
    "MERGE_PATCH",
    "RAW",
    "ObjectCache",
    "ObjectKey",
    "object_key",
    "owned_patch",
    "raw_json",
]

Obj = dict[str, Any]
ObjectKey = tuple[str, str]


# kubernetes-asyncio sends a dict body as a JSON patch unless told otherwise (its typed
# signatures do not list the keyword, hence a mapping to unpack into the call).
MERGE_PATCH: dict[str, Any] = {"_content_type": "application/merge-patch+json"}


# Asks a typed call (`CoreV1Api.create_namespace`) for the raw response, for `raw_json`.
RAW: dict[str, Any] = {"_preload_content": False}


async def raw_json(call: Awaitable[Any]) -> Obj:
    """The JSON answer of a typed call made with `**RAW`, as a plain dict.

    The typed client would build model objects (`V1Namespace`) from the answer, which costs
    more CPU than the request itself, only for the reconciler to turn them back into dicts.
    A failed call raises `ApiException` with the status, reason and body, as the client
    does when it reads the answer itself."""
    response = await call
    try:
        body = await response.read()
        if not 200 <= response.status <= 299:
            error = ApiException(status=response.status, reason=response.reason)
            error.body = body.decode(errors="replace")
            error.headers = response.headers
            raise error
        answer: Obj = json.loads(body)
        return answer
    finally:
        response.release()


def object_key(obj: Obj) -> ObjectKey:
    """(namespace, name) of an object; the namespace is "" for cluster-scoped kinds."""
    metadata = obj.get("metadata") or {}
    return metadata.get("namespace") or "", metadata.get("name") or ""


class ObjectCache:
    """The latest known state of every object one watch reports."""

    def __init__(self, on_event: Callable[[Obj], None] | None = None) -> None:
        self._objects: dict[ObjectKey, Obj] = {}
        self._on_event = on_event

    def __len__(self) -> int:
        return len(self._objects)

    def __iter__(self) -> Iterator[Obj]:
        return iter(list(self._objects.values()))

    def get(self, name: str, namespace: str = "") -> Obj | None:
        return self._objects.get((namespace, name))

    def handle(self, event_type: str, obj: Obj) -> None:
        """A `ListWatch` handler: record the event, then tell `on_event` about the object as
        reported and, if it differs, as it was known before."""
        if event_type == "DELETED":
            before = self._objects.pop(object_key(obj), None)
        elif event_type in ("ADDED", "MODIFIED"):
            before = self._objects.get(object_key(obj))
            self._objects[object_key(obj)] = obj
        else:
            return

        if self._on_event is None:
            return
        self._on_event(obj)
        if before is not None and before is not obj:
            self._on_event(before)

    def remember(self, obj: Obj) -> None:
        """Record the answer to our own write, ahead of its watch event."""
        self._objects[object_key(obj)] = obj

    def forget(self, name: str, namespace: str = "") -> None:
        """Record our own delete, ahead of its watch event."""
        self._objects.pop((namespace, name), None)


def _same(actual: Any, desired: Any) -> bool:
    if desired in ([], {}) and actual is None:
        return True
    return bool(actual == desired)


def owned_patch(actual: Obj | None, desired: Obj) -> Obj:
    """The merge patch that sets every field of `desired` in `actual` ({} if none differs).

    Mappings are compared key by key, recursively; any other value (lists included, as merge
    patch replaces lists whole) is compared and, if different, set whole. A `None` in
    `desired` asks for the field to be removed."""
    patch: Obj = {}
    current = actual or {}

    for key, wanted in desired.items():
        present = current.get(key)
        if wanted is None:
            if key in current:
                patch[key] = None
        elif isinstance(wanted, dict) and wanted and isinstance(present, dict):
            inner = owned_patch(present, wanted)
            if inner:
                patch[key] = inner
        elif not _same(present, wanted):
            patch[key] = wanted
    return patch
