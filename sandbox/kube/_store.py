"""The object store: one cluster's state, its resourceVersion clock and its watch log.

Semantics, and why they are shaped like this:

- **One global integer resourceVersion**, as etcd's revision: every committed change takes the
  next number, list responses carry the current one, and the `DELETED` event of an object
  carries the revision of its deletion. A write that changes nothing (same content) commits
  nothing, exactly like the real storage layer, so a level-triggered syncer that re-applies
  its desired state does not make watchers see `MODIFIED` storms.
- **Every operation is synchronous.** The server runs in one asyncio loop and no method here
  awaits, so each request is atomic and a watch can subscribe and read its replay in one
  step without missing or duplicating an event.
- **A bounded event log** feeds watches that start from a resourceVersion. Versions older than
  the oldest retained event (or older than an explicit `expire()`) are "compacted": such a
  watch gets `410 Expired`, and so does a `continue` token minted before the compaction.
- **Deletion** honours finalizers (the object only gains `deletionTimestamp` and a `MODIFIED`
  event until the last finalizer is removed), and owner references (Background, Foreground or
  Orphan propagation), which the real server leaves to the garbage collector; doing it inside
  the request makes tests deterministic. Deleting a namespace marks it `Terminating`, deletes
  its contents and removes it once it is empty.
- **Status subresource split**: writes to the main resource keep the stored `status`, writes to
  `/status` keep everything but `status`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import json
import logging
import random
import re
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.kube import _errors as errors
from sandbox.kube._errors import StatusError
from sandbox.kube._patch import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    json_patch,
    merge_patch,
    server_side_apply,
    strategic_merge,
)
from sandbox.kube._registry import Registry, ResourceType
from sandbox.kube._selectors import Matcher

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
CRD_KEY = "customresourcedefinitions.apiextensions.k8s.io"
FOREGROUND_FINALIZER = "foregroundDeletion"
# Metadata only the server writes; a client's values are replaced by the stored ones.
_SERVER_SET = (
    "uid",
    "creationTimestamp",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)

_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what generateName draws from


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Event:
    """One committed change: what a watch from an earlier resourceVersion replays."""

    rv: int
    key: str
    type: str
    obj: Obj
    old: Obj | None = None


@dataclass(eq=False)
class Subscriber:
    """A live watch: its filter, and the queue the server drains into the HTTP stream."""

    key: str
    namespace: str | None
    matches: Matcher
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)

    def translate(self, event: Event) -> Event | None:
        """The event as this watcher sees it: objects entering or leaving its selection
        become ADDED or DELETED, as the real watch cache reports them."""
        if event.key != self.key:
            return None

        def selected(obj: Obj | None) -> bool:
            if obj is None:
                return False
            if self.namespace is not None and obj["metadata"].get("namespace") != self.namespace:
                return False
            return self.matches(obj)

        now_in, was_in = selected(event.obj), selected(event.old)
        if event.type == "MODIFIED" and now_in and not was_in:
            return Event(event.rv, event.key, "ADDED", event.obj)
        if event.type == "MODIFIED" and was_in and not now_in:
            return Event(event.rv, event.key, "DELETED", event.obj)
        return event if now_in else None

    def offer(self, event: Event) -> None:
        seen = self.translate(event)
        if seen is not None:
            self.queue.put_nowait(seen)


@dataclass
class DeleteOptions:
    propagation: str = "Background"
    precondition_uid: str | None = None
    precondition_rv: str | None = None
    dry_run: bool = False


@dataclass
class ListResult:
    items: list[Obj]
    resource_version: int
    continue_token: str = ""
    remaining: int | None = None


class Store:
    """All objects of one cluster, keyed by resource, namespace and name."""

    def __init__(self, registry: Registry, *, history: int = 1000) -> None:
        self.registry = registry
        self.rv = 0
        self.compacted = 0
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {}
        self._log: deque[Event] = deque(maxlen=history)
        self._subscribers: set[Subscriber] = set()
        self.on_commit: Callable[[], None] | None = None

    # --- reading ----------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        obj = self._objects.get(rt.key, {}).get((namespace, name))
        if obj is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return self._present(rt, obj)

    def find(self, key: str, namespace: str, name: str) -> Obj | None:
        """The stored object or None, without a 404 (for hooks and internal checks)."""
        obj = self._objects.get(key, {}).get((namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def all_objects(self, key: str) -> list[Obj]:
        return [copy.deepcopy(o) for _, o in sorted(self._objects.get(key, {}).items())]

    def list_objects(
        self,
        rt: ResourceType,
        namespace: str | None,
        matches: Matcher,
        *,
        limit: int = 0,
        continue_token: str = "",
        selective: bool = False,
    ) -> ListResult:
        """A page of matching objects in key order, and the token for the next page."""
        list_rv, start = self.rv, ("", "")
        if continue_token:
            list_rv, start = self._decode_continue(continue_token)
        candidates = [
            obj
            for (ns, name), obj in sorted(self._objects.get(rt.key, {}).items())
            if (namespace is None or ns == namespace) and (ns, name) > start
        ]
        items = [obj for obj in candidates if matches(obj)]
        if not limit or len(items) <= limit:
            return ListResult([self._present(rt, o, in_list=True) for o in items], list_rv)

        page = items[:limit]
        last = page[-1]["metadata"]
        token = self._encode_continue(list_rv, (last.get("namespace", ""), last["name"]))
        remaining = None if selective else len(items) - limit
        return ListResult(
            [self._present(rt, o, in_list=True) for o in page], list_rv, token, remaining
        )

    def _encode_continue(self, rv: int, start: tuple[str, str]) -> str:
        raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": list(start)})
        return base64.urlsafe_b64encode(raw.encode()).decode()

    def _decode_continue(self, token: str) -> tuple[int, tuple[str, str]]:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            rv, (namespace, name) = int(data["rv"]), data["start"]
            start = (str(namespace), str(name))
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise errors.bad_request(f"continue key is not valid: {exc}") from exc
        if rv < self.compacted:
            raise errors.gone(
                "The provided continue parameter is too old to display a consistent list "
                "result. You can start a new list without the continue parameter."
            )
        return rv, start

    def _present(self, rt: ResourceType, obj: Obj, *, in_list: bool = False) -> Obj:
        """A copy for a response. Typed lists of built-in kinds carry no kind/apiVersion
        on their items, as the real server's converted lists do not."""
        out = copy.deepcopy(obj)
        if in_list and rt.builtin:
            out.pop("kind", None)
            out.pop("apiVersion", None)
        return out

    # --- watching ---------------------------------------------------------------------------

    def subscribe(
        self, rt: ResourceType, namespace: str | None, matches: Matcher, since: int | None
    ) -> tuple[Subscriber, list[Event]]:
        """A live subscription and the events to send first. `since` None means "current
        state as ADDED events"; an expired `since` raises 410."""
        if since is not None and since < self.compacted:
            raise errors.gone(f"too old resource version: {since} ({self.rv})")
        sub = Subscriber(rt.key, namespace, matches)
        if since is None:
            replay = [
                Event(int(o["metadata"]["resourceVersion"]), rt.key, "ADDED", copy.deepcopy(o))
                for _, o in sorted(self._objects.get(rt.key, {}).items())
            ]
        else:
            replay = [e for e in self._log if e.rv > since]
        seen = [t for t in (sub.translate(e) for e in replay) if t is not None]
        self._subscribers.add(sub)
        return sub, seen

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    @property
    def open_watches(self) -> int:
        """Live subscriptions: watches that will be sent the next change."""
        return len(self._subscribers)

    def close_watches(self, final: Event | None = None) -> int:
        """End every live watch, after `final` (an ERROR event) if given."""
        count = len(self._subscribers)
        for sub in self._subscribers:
            if final is not None:
                sub.queue.put_nowait(final)
            sub.queue.put_nowait(None)
        self._subscribers.clear()
        return count

    def expire(self) -> None:
        """Compact history: every resourceVersion before the current one becomes too old."""
        self.compacted = self.rv
        self._log.clear()

    # --- committing -------------------------------------------------------------------------

    def _commit(self, rt: ResourceType, kind: str, obj: Obj, old: Obj | None) -> Obj:
        self.rv += 1
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self.rv)
        bucket = self._objects.setdefault(rt.key, {})
        slot = (meta.get("namespace", ""), meta["name"])
        if kind == "DELETED":
            bucket.pop(slot, None)
        else:
            bucket[slot] = obj
        if self._log.maxlen is not None and len(self._log) == self._log.maxlen:
            self.compacted = max(self.compacted, self._log[0].rv)
        event = Event(self.rv, rt.key, kind, copy.deepcopy(obj), old)
        self._log.append(event)
        for sub in list(self._subscribers):
            sub.offer(event)
        if rt.key == CRD_KEY:
            self._sync_crd(obj, removed=kind == "DELETED")
        if self.on_commit is not None:
            self.on_commit()
        return copy.deepcopy(obj)

    def _sync_crd(self, crd: Obj, *, removed: bool) -> None:
        """Keep the registry in step with the CRD objects, as the real apiextensions
        server does; removing a CRD removes its custom resources."""
        spec = crd.get("spec") or {}
        group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
        key = f"{plural}.{group}"
        self.registry.unregister(group, plural)
        try:
            types = ResourceType.from_crd(crd)
        except (KeyError, TypeError) as exc:
            logger.warning("ignoring malformed CRD %s: %s", crd["metadata"]["name"], exc)
            return
        if removed:
            for obj in list(self._objects.pop(key, {}).values()):
                self._commit(types[0], "DELETED", copy.deepcopy(obj), obj)
            return
        for rt in types:
            self.registry.register(rt)

    # --- creating ---------------------------------------------------------------------------

    def create(
        self,
        rt: ResourceType,
        namespace: str,
        body: Any,
        *,
        dry_run: bool = False,
        managed_fields: list[Obj] | None = None,
    ) -> Obj:
        """POST: validate, default, and store a new object (the caller answers 201)."""
        obj = self._check_body(rt, namespace, body, name=None)
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            suffix = "".join(random.choices(_SUFFIX_ALPHABET, k=5))
            meta["name"] = f"{meta['generateName']}{suffix}"
        self._validate_name(rt, meta.get("name", ""), obj)
        if rt.namespaced:
            self._check_namespace_open(rt, obj)
        if (meta.get("namespace", ""), meta["name"]) in self._objects.get(rt.key, {}):
            raise errors.already_exists(rt.plural, rt.group, meta["name"])

        if rt.status_subresource and rt.key != "namespaces":
            obj.pop("status", None)
        for server_field in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"):
            meta.pop(server_field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        meta["generation"] = 1
        if managed_fields:
            meta["managedFields"] = managed_fields
        _default(rt, obj)
        if dry_run:
            meta["resourceVersion"] = ""
            return obj
        return self._commit(rt, "ADDED", obj, None)

    def seed(self, rt: ResourceType, obj: Obj) -> Obj:
        """Store an object as given (status included), filling only missing server fields.
        For test setup: no validation, no admission, an existing object is replaced."""
        obj = copy.deepcopy(obj)
        obj.setdefault("apiVersion", rt.api_version)
        obj.setdefault("kind", rt.kind)
        meta = obj.setdefault("metadata", {})
        if rt.namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        old = self._objects.get(rt.key, {}).get((meta.get("namespace", ""), meta["name"]))
        meta.setdefault("uid", old["metadata"]["uid"] if old else str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now())
        meta.setdefault("generation", 1)
        _default(rt, obj)
        return self._commit(rt, "MODIFIED" if old else "ADDED", obj, old)

    # --- updating ---------------------------------------------------------------------------

    def replace(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        *,
        subresource: str = "",
        dry_run: bool = False,
    ) -> Obj:
        """PUT: replace the object (or its status), checking resourceVersion."""
        current = self._stored(rt, namespace, name)
        new = self._check_body(rt, namespace, body, name=name)
        rv = new["metadata"].get("resourceVersion")
        if not rv and not rt.builtin:
            raise errors.field_error(
                rt.kind,
                rt.group,
                name,
                "metadata.resourceVersion",
                "Invalid value: 0x0: must be specified for an update",
            )
        return self._update(rt, current, new, subresource=subresource, dry_run=dry_run)

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        content_type: str,
        patch: Any,
        *,
        subresource: str = "",
        field_manager: str | None = None,
        force: bool = False,
        dry_run: bool = False,
    ) -> tuple[Obj, bool]:
        """PATCH in one of the four content types; returns the object and whether an
        apply created it."""
        if content_type == APPLY_PATCH:
            return self._apply(
                rt, namespace, name, patch, subresource, field_manager, force, dry_run
            )

        if content_type == STRATEGIC_MERGE_PATCH and not rt.builtin:
            raise errors.unsupported_media_type(
                content_type, [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]
            )
        current = self._stored(rt, namespace, name)
        if content_type == JSON_PATCH:
            patched = json_patch(copy.deepcopy(current), patch)
        elif not isinstance(patch, dict):
            raise errors.bad_request("the patch body must be a JSON object")
        elif content_type == MERGE_PATCH:
            patched = merge_patch(current, patch)
        elif content_type == STRATEGIC_MERGE_PATCH:
            patched = strategic_merge(current, patch)
        else:  # the server checks media types before it gets here
            raise errors.unsupported_media_type(content_type, [])

        # `patched` keeps the stored resourceVersion unless the patch names one, which then
        # acts as a precondition.
        new = self._check_body(rt, namespace, patched, name=name)
        return self._update(rt, current, new, subresource=subresource, dry_run=dry_run), False

    def _apply(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        config: Any,
        subresource: str,
        manager: str | None,
        force: bool,
        dry_run: bool,
    ) -> tuple[Obj, bool]:
        if not manager:
            raise errors.field_error(
                "PatchOptions",
                "meta.k8s.io",
                "",
                "fieldManager",
                "Required value: is required for apply patch",
                "FieldValueRequired",
            )
        if not isinstance(config, dict):
            raise errors.bad_request("the apply configuration must be an object")
        config.setdefault("metadata", {}).setdefault("name", name)
        current = self._objects.get(rt.key, {}).get((namespace if rt.namespaced else "", name))
        result = server_side_apply(
            current, config, manager, force=force, api_version=rt.api_version
        )
        if current is None:
            result["metadata"].pop("resourceVersion", None)
            managed = result["metadata"].get("managedFields")
            return self.create(rt, namespace, result, dry_run=dry_run, managed_fields=managed), True
        if not (config.get("metadata") or {}).get("resourceVersion"):
            result["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        new = self._check_body(rt, namespace, result, name=name)
        return self._update(
            rt, current, new, subresource=subresource, dry_run=dry_run, keep_managed=True
        ), False

    def _update(
        self,
        rt: ResourceType,
        current: Obj,
        new: Obj,
        *,
        subresource: str = "",
        dry_run: bool = False,
        keep_managed: bool = False,
    ) -> Obj:
        """The common tail of PUT and PATCH: preconditions, the status split, immutable
        metadata, generation, and a commit unless nothing changed."""
        cur_meta, meta = current["metadata"], new["metadata"]
        if meta.get("resourceVersion") and meta["resourceVersion"] != cur_meta["resourceVersion"]:
            raise errors.conflict(rt.plural, rt.group, cur_meta["name"])
        if meta.get("uid") and meta["uid"] != cur_meta["uid"]:
            raise errors.conflict(
                rt.plural,
                rt.group,
                cur_meta["name"],
                f"Precondition failed: UID in precondition: {meta['uid']}, "
                f"UID in object meta: {cur_meta['uid']}",
            )

        if subresource == "status":
            status = new.get("status")
            new = copy.deepcopy(current)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
            meta = new["metadata"]
        elif rt.status_subresource:
            if "status" in current:
                new["status"] = copy.deepcopy(current["status"])
            else:
                new.pop("status", None)

        # Fields only the server sets.
        for server_field in _SERVER_SET:
            if server_field in cur_meta:
                meta[server_field] = cur_meta[server_field]
            else:
                meta.pop(server_field, None)
        if not keep_managed:
            if "managedFields" in cur_meta:
                meta["managedFields"] = cur_meta["managedFields"]
            else:
                meta.pop("managedFields", None)
        if cur_meta.get("deletionTimestamp"):
            added = set(meta.get("finalizers") or []) - set(cur_meta.get("finalizers") or [])
            if added:
                raise errors.field_error(
                    rt.kind,
                    rt.group,
                    cur_meta["name"],
                    "metadata.finalizers",
                    "Forbidden: no new finalizers can be added if the object is being deleted",
                    "FieldValueForbidden",
                )
        _default(rt, new)

        meta["resourceVersion"] = cur_meta["resourceVersion"]
        if new == current:
            return copy.deepcopy(current)
        if _spec_changed(rt, current, new):
            meta["generation"] = int(cur_meta.get("generation", 1)) + 1
        if dry_run:
            return new
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            # Removing the last finalizer turns the update into the deletion itself.
            return self._finish_deletion(rt, new)
        result = self._commit(rt, "MODIFIED", new, current)
        if FOREGROUND_FINALIZER in (meta.get("finalizers") or []):
            self._settle_foreground(rt, new)
        return result

    # --- deleting ---------------------------------------------------------------------------

    def delete(
        self, rt: ResourceType, namespace: str, name: str, options: DeleteOptions
    ) -> tuple[Obj, bool]:
        """DELETE: returns the object and whether it is gone (False: finalizers hold it)."""
        current = self._stored(rt, namespace, name)
        meta = current["metadata"]
        if options.precondition_uid and options.precondition_uid != meta["uid"]:
            raise errors.conflict(
                rt.plural,
                rt.group,
                name,
                f"Precondition failed: UID in precondition: {options.precondition_uid}, "
                f"UID in object meta: {meta['uid']}",
            )
        if options.precondition_rv and options.precondition_rv != meta["resourceVersion"]:
            raise errors.conflict(
                rt.plural,
                rt.group,
                name,
                f"Precondition failed: ResourceVersion in precondition: "
                f"{options.precondition_rv}, ResourceVersion in object meta: "
                f"{meta['resourceVersion']}",
            )
        if options.dry_run:
            return copy.deepcopy(current), not meta.get("finalizers")
        if options.propagation not in ("Background", "Foreground", "Orphan"):
            raise errors.field_error(
                "DeleteOptions",
                "meta.k8s.io",
                "",
                "propagationPolicy",
                f'Unsupported value: "{options.propagation}"',
                "FieldValueNotSupported",
            )

        if rt.key == "namespaces":
            return self._delete_namespace(rt, current), False
        if options.propagation == "Orphan":
            self._orphan_dependents(meta["uid"])
        if options.propagation == "Foreground" and self._dependents(meta["uid"]):
            new = copy.deepcopy(current)
            finalizers = new["metadata"].setdefault("finalizers", [])
            if FOREGROUND_FINALIZER not in finalizers:
                finalizers.append(FOREGROUND_FINALIZER)
            new["metadata"].setdefault("deletionTimestamp", now())
            new["metadata"].setdefault("deletionGracePeriodSeconds", 0)
            self._commit(rt, "MODIFIED", new, current)
            for dep_rt, dep in self._dependents(meta["uid"]):
                self._delete_quietly(dep_rt, dep, "Foreground")
            self._settle_foreground(rt, new)
            gone = self.find(rt.key, *_slot(new)) is None
            return (new if not gone else self._last_state(rt, new)), gone

        if meta.get("finalizers"):
            if meta.get("deletionTimestamp"):
                return copy.deepcopy(current), False
            new = copy.deepcopy(current)
            new["metadata"]["deletionTimestamp"] = now()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            return self._commit(rt, "MODIFIED", new, current), False
        return self._finish_deletion(rt, current), True

    def delete_collection(
        self, rt: ResourceType, namespace: str | None, matches: Matcher, options: DeleteOptions
    ) -> list[Obj]:
        """DELETE on a collection: every matching object, as single deletes would."""
        deleted = []
        for obj in self.list_objects(rt, namespace, matches).items:
            meta = obj["metadata"]
            try:
                result, _ = self.delete(rt, meta.get("namespace", ""), meta["name"], options)
            except StatusError:
                continue
            deleted.append(result)
        return deleted

    def _finish_deletion(self, rt: ResourceType, current: Obj) -> Obj:
        """Remove the object for good, then let the garbage collector act on dependents."""
        final = self._remove(rt, current)
        uid = current["metadata"]["uid"]
        for dep_rt, dep in self._dependents(uid):
            refs = [r for r in dep["metadata"].get("ownerReferences", []) if r.get("uid") != uid]
            if any(self._alive(r.get("uid", "")) for r in refs):
                # Other owners remain: only the dangling reference goes.
                new = copy.deepcopy(dep)
                new["metadata"]["ownerReferences"] = refs
                self._commit(dep_rt, "MODIFIED", new, dep)
            else:
                self._delete_quietly(dep_rt, dep, "Background")
        return final

    def force_remove(self, rt: ResourceType, current: Obj) -> None:
        """Drop an object regardless of finalizers and dependents (a test hook)."""
        self._commit(rt, "DELETED", copy.deepcopy(current), current)

    def _remove(self, rt: ResourceType, current: Obj) -> Obj:
        final = self._commit(rt, "DELETED", copy.deepcopy(current), current)
        namespace = current["metadata"].get("namespace")
        if namespace:
            ns_obj = self._objects.get("namespaces", {}).get(("", namespace))
            if ns_obj is not None and ns_obj["metadata"].get("deletionTimestamp"):
                self._settle_namespace(ns_obj)
        for ref in current["metadata"].get("ownerReferences", []):
            owner = self._by_uid(ref.get("uid", ""))
            if owner is not None:
                owner_rt, owner_obj = owner
                if FOREGROUND_FINALIZER in (owner_obj["metadata"].get("finalizers") or []):
                    self._settle_foreground(owner_rt, owner_obj)
        return final

    def _delete_quietly(self, rt: ResourceType, obj: Obj, propagation: str) -> None:
        meta = obj["metadata"]
        if self.find(rt.key, meta.get("namespace", ""), meta["name"]) is None:
            return
        try:
            self.delete(rt, meta.get("namespace", ""), meta["name"], DeleteOptions(propagation))
        except StatusError as exc:  # pragma: no cover - the object was just found
            logger.warning("cascade could not delete %s %s: %s", rt.key, meta["name"], exc)

    def _settle_foreground(self, rt: ResourceType, owner: Obj) -> None:
        """Drop `foregroundDeletion` once no dependent is left, completing the delete."""
        stored = self.find(rt.key, *_slot(owner))
        if stored is None or self._dependents(stored["metadata"]["uid"]):
            return
        new = copy.deepcopy(stored)
        new["metadata"]["finalizers"] = [
            f for f in new["metadata"].get("finalizers", []) if f != FOREGROUND_FINALIZER
        ]
        if not new["metadata"]["finalizers"]:
            del new["metadata"]["finalizers"]
            self._finish_deletion(rt, new)
        else:
            self._commit(rt, "MODIFIED", new, stored)

    def _orphan_dependents(self, uid: str) -> None:
        for dep_rt, dep in self._dependents(uid):
            new = copy.deepcopy(dep)
            refs = [r for r in dep["metadata"]["ownerReferences"] if r.get("uid") != uid]
            if refs:
                new["metadata"]["ownerReferences"] = refs
            else:
                del new["metadata"]["ownerReferences"]
            self._commit(dep_rt, "MODIFIED", new, dep)

    def _delete_namespace(self, rt: ResourceType, current: Obj) -> Obj:
        if current["metadata"].get("deletionTimestamp"):
            return copy.deepcopy(current)
        new = copy.deepcopy(current)
        new["metadata"]["deletionTimestamp"] = now()
        new["metadata"]["deletionGracePeriodSeconds"] = 0
        new.setdefault("status", {})["phase"] = "Terminating"
        result = self._commit(rt, "MODIFIED", new, current)
        name = current["metadata"]["name"]
        for key, bucket in list(self._objects.items()):
            content_rt = self.registry.by_key(key)
            if content_rt is None or not content_rt.namespaced:
                continue
            for (ns, _), obj in list(bucket.items()):
                if ns == name:
                    self._delete_quietly(content_rt, obj, "Background")
        stored = self._objects.get("namespaces", {}).get(("", name))
        if stored is not None:
            self._settle_namespace(stored)
        remaining = self.find("namespaces", "", name)
        return remaining if remaining is not None else result

    def _settle_namespace(self, ns_obj: Obj) -> None:
        """Remove a terminating namespace once nothing is left in it."""
        name = ns_obj["metadata"]["name"]
        for key, bucket in self._objects.items():
            if key != "namespaces" and any(ns == name for ns, _ in bucket):
                return
        if ns_obj["metadata"].get("finalizers"):
            return
        rt = self.registry.by_key("namespaces")
        if rt is not None and self.find("namespaces", "", name) is not None:
            self._remove(rt, ns_obj)

    def _last_state(self, rt: ResourceType, obj: Obj) -> Obj:
        for event in reversed(self._log):
            if event.key == rt.key and event.obj["metadata"].get("uid") == obj["metadata"]["uid"]:
                return copy.deepcopy(event.obj)
        return copy.deepcopy(obj)

    # --- owner references -------------------------------------------------------------------

    def _dependents(self, uid: str) -> list[tuple[ResourceType, Obj]]:
        found = []
        for key, bucket in self._objects.items():
            rt = self.registry.by_key(key)
            if rt is None:
                continue
            for obj in bucket.values():
                refs = obj["metadata"].get("ownerReferences") or []
                if any(r.get("uid") == uid for r in refs):
                    found.append((rt, obj))
        return found

    def _by_uid(self, uid: str) -> tuple[ResourceType, Obj] | None:
        for key, bucket in self._objects.items():
            rt = self.registry.by_key(key)
            for obj in bucket.values():
                if rt is not None and obj["metadata"].get("uid") == uid:
                    return rt, obj
        return None

    def _alive(self, uid: str) -> bool:
        return self._by_uid(uid) is not None

    # --- validation -------------------------------------------------------------------------

    def _stored(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        obj = self._objects.get(rt.key, {}).get((namespace if rt.namespaced else "", name))
        if obj is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return obj

    def _check_body(self, rt: ResourceType, namespace: str, body: Any, name: str | None) -> Obj:
        """Kind, apiVersion, namespace and name of a request body against the URL."""
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        obj = copy.deepcopy(body)
        if not rt.builtin and not obj.get("kind"):
            raise errors.bad_request(f"Object 'Kind' is missing in '{json.dumps(body)[:200]}'")
        obj.setdefault("kind", rt.kind)
        obj.setdefault("apiVersion", rt.api_version)
        if obj["kind"] != rt.kind or obj["apiVersion"] != rt.api_version:
            raise errors.bad_request(
                f"the API version in the data ({obj['apiVersion']}) does not match the "
                f"expected API version ({rt.api_version})"
                if obj["apiVersion"] != rt.api_version
                else f"the kind in the data ({obj['kind']}) does not match {rt.kind}"
            )
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        if rt.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if name is not None:
            if meta.get("name") and meta["name"] != name:
                raise errors.bad_request(
                    f"the name of the object ({meta['name']}) does not match the name on the "
                    f"URL ({name})"
                )
            meta["name"] = name
        return obj

    def _validate_name(self, rt: ResourceType, name: str, obj: Obj) -> None:
        if not name:
            raise errors.field_error(
                rt.kind,
                rt.group,
                "",
                "metadata.name",
                "Required value: name or generateName is required",
                "FieldValueRequired",
            )
        dns_label = rt.key in ("namespaces", "services")
        pattern = _LABEL_RE if dns_label else _SUBDOMAIN_RE
        limit = 63 if dns_label else 253
        if rt.key == CRD_KEY:
            spec = obj.get("spec") or {}
            expected = f"{(spec.get('names') or {}).get('plural')}.{spec.get('group')}"
            if name != expected:
                raise errors.field_error(
                    rt.kind,
                    rt.group,
                    name,
                    "metadata.name",
                    f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
                )
        if len(name) > limit or not pattern.match(name):
            kind = "RFC 1123 label" if dns_label else "RFC 1123 subdomain"
            raise errors.field_error(
                rt.kind,
                rt.group,
                name,
                "metadata.name",
                f'Invalid value: "{name}": a lowercase {kind} must consist of lower case '
                "alphanumeric characters, '-' or '.', and must start and end with an "
                "alphanumeric character",
            )

    def _check_namespace_open(self, rt: ResourceType, obj: Obj) -> None:
        namespace = obj["metadata"].get("namespace", "")
        ns_obj = self._objects.get("namespaces", {}).get(("", namespace))
        if ns_obj is None:
            raise errors.not_found("namespaces", "", namespace)
        if ns_obj["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(
                f'{rt.plural} "{obj["metadata"]["name"]}" is forbidden: unable to create new '
                f"content in namespace {namespace} because it is being terminated"
            )

    # --- persistence ------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        objects = [o for bucket in self._objects.values() for o in bucket.values()]
        return {"resourceVersion": self.rv, "objects": objects}

    def restore(self, data: dict[str, Any]) -> None:
        """Load a snapshot. History is not kept, so every older version is compacted."""
        objects = data.get("objects", [])
        for crd in (o for o in objects if o.get("kind") == "CustomResourceDefinition"):
            for crd_type in ResourceType.from_crd(crd):
                self.registry.register(crd_type)
        for obj in objects:
            rt = self.registry.by_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
            if rt is None:
                logger.warning("skipping stored object of unknown kind %s", obj.get("kind"))
                continue
            self._objects.setdefault(rt.key, {})[_slot(obj)] = obj
        self.rv = int(data.get("resourceVersion", 0))
        self.compacted = self.rv


def _slot(obj: Obj) -> tuple[str, str]:
    return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def _spec_changed(rt: ResourceType, old: Obj, new: Obj) -> bool:
    """Generation tracks everything but metadata, and status when /status exists."""
    ignored = {"metadata", "status"} if rt.status_subresource else {"metadata"}
    return {k: v for k, v in old.items() if k not in ignored} != {
        k: v for k, v in new.items() if k not in ignored
    }


def _default(rt: ResourceType, obj: Obj) -> None:
    """The few defaults and conversions of built-in kinds that callers can observe."""
    meta = obj["metadata"]
    if rt.key == "namespaces":
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
    elif rt.key == "secrets":
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None) or {}
        if string_data:
            data = obj.setdefault("data", {})
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
    elif rt.key == "services":
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        if spec["type"] != "ExternalName":
            spec.setdefault("clusterIP", _cluster_ip(meta.get("namespace", ""), meta["name"]))
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
    elif rt.key == "deployments.apps":
        obj.setdefault("spec", {}).setdefault("replicas", 1)
    elif rt.key == CRD_KEY:
        names = (obj.get("spec") or {}).get("names") or {}
        obj["status"] = {
            "acceptedNames": names,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"},
            ],
            "storedVersions": [
                v["name"] for v in (obj.get("spec") or {}).get("versions", []) if v.get("storage")
            ],
        }


def _cluster_ip(namespace: str, name: str) -> str:
    digest = uuid.uuid5(uuid.NAMESPACE_DNS, f"{namespace}/{name}").bytes
    return f"10.96.{digest[0]}.{max(digest[1], 1)}"
