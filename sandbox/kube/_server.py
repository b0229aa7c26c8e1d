"""The HTTP face of the stand-in: routing, discovery, content types, watch streams, faults.

An aiohttp application, so it runs inside the caller's event loop (tests start it on a free
port with an `AppRunner`). One catch-all route parses Kubernetes URLs itself, because the URL
grammar is data-driven: which groups, versions and plurals exist comes from the registry,
and custom resources appear when their CRD is created. The path forms are the real ones:

    /api, /api/v1, /apis, /apis/{group}, /apis/{group}/{version}           discovery
    /api/v1/{plural}[/{name}[/{sub}]]                                        cluster-scoped
    /api/v1/namespaces/{ns}/{plural}[/{name}[/{sub}]]                        namespaced
    /apis/{group}/{version}/... the same, and /.../watch/... the legacy watch prefix

Middleware does, in order: bearer-token authentication (401 Status), request logging, the
mutating-request counter, injected faults, and the translation of `StatusError` into a
`Status` body. Handlers only call the store, which is synchronous, so each request is atomic.

Watches are chunked NDJSON, one `{"type", "object"}` per line, as kube-apiserver writes them.
A too-old resourceVersion gets a 200 and a single `ERROR` event carrying a 410 `Expired`
Status (what the real server does, and what kubernetes-asyncio's Watch retries once).
Bookmarks are sent when the client asks (`allowWatchBookmarks`) and the stream has been idle
for `bookmark_interval` seconds, and once more before a `timeoutSeconds` expiry closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web

from sandbox.kube import _errors as errors
from sandbox.kube._errors import StatusError
from sandbox.kube._patch import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    merge_patch,
)
from sandbox.kube._registry import Registry, ResourceType
from sandbox.kube._selectors import Matcher, field_matcher, label_matcher
from sandbox.kube._store import DeleteOptions, Event, Obj, Store

logger = logging.getLogger(__name__)

KUBE_VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0-workbench-sandbox",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.22.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}
_PUBLIC_PATHS = {"/healthz", "/livez", "/readyz", "/version"}
_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}
_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def parse_bool(name: str, value: str | None) -> bool:
    """Go's strconv.ParseBool, which is how the real server reads `watch` and friends."""
    if value is None or value == "":
        return False
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise errors.bad_request(f'invalid boolean value "{value}" for parameter {name}')


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


@dataclass
class Route:
    """A request URL resolved against the registry."""

    rt: ResourceType
    namespace: str | None
    name: str
    subresource: str
    watch_prefix: bool


@dataclass
class _WriteFault:
    code: int
    remaining: int
    resource: str | None


class Faults:
    """Failures a test asked for: the next writes, every request for a while, or requests
    to one resource (or all) answered only after a delay."""

    def __init__(self) -> None:
        self.writes: list[_WriteFault] = []
        self.requests_code: int | None = None
        self.requests_remaining: int | None = None
        self.delays: dict[str | None, float] = {}  # resource key (None: any) -> seconds

    def clear(self) -> None:
        self.writes.clear()
        self.requests_code = None
        self.requests_remaining = None
        self.delays.clear()

    def delay_of(self, resource: str) -> float:
        return max(self.delays.get(resource, 0.0), self.delays.get(None, 0.0))

    def add_write_fault(self, code: int, times: int, resource: str | None) -> None:
        self.writes.append(_WriteFault(code, times, resource))

    def take_request_fault(self) -> int | None:
        if self.requests_code is None:
            return None
        code = self.requests_code
        if self.requests_remaining is not None:
            self.requests_remaining -= 1
            if self.requests_remaining <= 0:
                self.requests_code = self.requests_remaining = None
        return code

    def take_write_fault(self, resource: str) -> int | None:
        for fault in self.writes:
            if fault.resource in (None, resource):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.writes.remove(fault)
                return fault.code
        return None


class ApiServer:
    """Request handling for one cluster: owns nothing but what the handlers need."""

    def __init__(
        self,
        registry: Registry,
        store: Store,
        *,
        token: str | None,
        bookmark_interval: float = 5.0,
        watch_timeout: float = 1800.0,
    ) -> None:
        self.registry = registry
        self.store = store
        self.token = token
        self.bookmark_interval = bookmark_interval
        self.watch_timeout = watch_timeout
        self.faults = Faults()
        self.writes: Counter[str] = Counter()
        self.requests: deque[tuple[str, str]] = deque(maxlen=10_000)
        self.address = ""
        self._closing = False
        self._closed = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application(
            middlewares=[self._errors_middleware], client_max_size=64 * 1024 * 1024
        )
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    def close(self) -> None:
        """End live watches so the HTTP server can shut down promptly."""
        self._closing = True
        self._closed.set()
        self.store.close_watches()

    # --- middleware -------------------------------------------------------------------------

    @web.middleware
    async def _errors_middleware(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        started = time.monotonic()
        status = 500
        try:
            self._authenticate(request)
            response = await handler(request)
            status = response.status
            return response
        except StatusError as exc:
            status = exc.code
            return _json(exc.body(), exc.code)
        except Exception:
            logger.exception("unhandled error on %s %s", request.method, request.path)
            return _json(errors.StatusError(500, "InternalError", "internal error").body(), 500)
        finally:
            logger.info(
                "%s %s -> %d (%.1f ms)",
                request.method,
                request.path_qs,
                status,
                (time.monotonic() - started) * 1000,
            )

    def _authenticate(self, request: web.Request) -> None:
        if self.token is None or request.path in _PUBLIC_PATHS:
            return
        header = request.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            credential.strip().encode(), self.token.encode()
        ):
            raise errors.unauthorized()

    # --- routing ----------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs))
        code = self.faults.take_request_fault()
        if code is not None:
            raise errors.injected(code)

        path = request.path.rstrip("/") or "/"
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if path == "/version":
            return _json(KUBE_VERSION)
        discovery = self._discovery(path)
        if discovery is not None:
            if request.method != "GET":
                raise errors.StatusError(405, "MethodNotAllowed", "the method is not allowed")
            return _json(discovery)

        route = self._route(path)
        delay = self.faults.delay_of(route.rt.key)
        if delay > 0:
            # Answered late, or at once when the server stops (a hung call must not hold it).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._closed.wait()
        if request.method in _WRITE_METHODS:
            self.writes[route.rt.key] += 1
            code = self.faults.take_write_fault(route.rt.key)
            if code == 409 and route.name:
                raise errors.conflict(route.rt.plural, route.rt.group, route.name)
            if code is not None:
                raise errors.injected(code)
        return await self._handle(request, route)

    def _route(self, path: str) -> Route:
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 3 and parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif len(parts) >= 4 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise errors.path_not_found()

        watch_prefix = rest[0] == "watch"
        if watch_prefix:
            rest = rest[1:]
        namespace: str | None = None
        nested = self.registry.get(group, version, rest[2]) if len(rest) >= 3 else None
        if rest and rest[0] == "namespaces" and nested is not None and nested.namespaced:
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise errors.path_not_found()

        rt = self.registry.get(group, version, rest[0])
        if rt is None:
            raise errors.path_not_found()
        name = rest[1] if len(rest) > 1 else ""
        subresource = rest[2] if len(rest) > 2 else ""
        if rt.namespaced and name and namespace is None:
            raise errors.path_not_found()
        if subresource and not (
            (subresource == "status" and rt.status_subresource)
            or (subresource == "scale" and rt.scale_subresource)
        ):
            raise errors.path_not_found()
        return Route(rt, namespace, name, subresource, watch_prefix)

    def _discovery(self, path: str) -> dict[str, Any] | None:
        parts = [p for p in path.split("/") if p]
        if parts == ["api"]:
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": self.address}
                ],
            }
        if parts == ["api", "v1"]:
            return self._resource_list("", "v1")
        if parts == ["apis"]:
            groups = [self._group(g, v) for g, v in self.registry.groups().items()]
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        if len(parts) == 2 and parts[0] == "apis":
            versions = self.registry.groups().get(parts[1])
            if not versions:
                raise errors.path_not_found()
            return {"kind": "APIGroup", "apiVersion": "v1", **self._group(parts[1], versions)}
        if len(parts) == 3 and parts[0] == "apis":
            return self._resource_list(parts[1], parts[2])
        return None

    def _group(self, group: str, versions: list[str]) -> dict[str, Any]:
        listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": listed, "preferredVersion": listed[0]}

    def _resource_list(self, group: str, version: str) -> dict[str, Any]:
        types = self.registry.in_group_version(group, version)
        if not types:
            raise errors.path_not_found()
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": [entry for rt in types for entry in rt.discovery()],
        }

    # --- verbs ------------------------------------------------------------------------------

    async def _handle(self, request: web.Request, route: Route) -> web.StreamResponse:
        method, query = request.method, request.query
        rt, namespace, name = route.rt, route.namespace or "", route.name
        dry_run = query.get("dryRun") == "All"

        if method == "GET" and not name:
            if route.watch_prefix or parse_bool("watch", query.get("watch")):
                return await self._watch(request, route)
            return self._list(route, query)
        if route.watch_prefix:
            raise errors.path_not_found()
        if method == "GET":
            obj = self.store.get(rt, namespace, name)
            return _json(_scale_of(rt, obj) if route.subresource == "scale" else obj)
        if method == "POST" and not name:
            if route.namespace is None and rt.namespaced:
                raise errors.method_not_allowed("create", rt.plural, rt.group)
            body = await self._body(request, (("application/json", "application/yaml")))
            return _json(self.store.create(rt, namespace, body, dry_run=dry_run), 201)
        if method == "PUT" and name:
            body = await self._body(request, ("application/json", "application/yaml"))
            if route.subresource == "scale":
                return _json(self._write_scale(rt, namespace, name, body, dry_run))
            replaced = self.store.replace(
                rt, namespace, name, body, subresource=route.subresource, dry_run=dry_run
            )
            return _json(replaced)
        if method == "PATCH" and name:
            return await self._patch(request, route, dry_run)
        if method == "DELETE" and name:
            return await self._delete(request, route)
        if method == "DELETE":
            options = await self._delete_options(request)
            matches = self._matcher(route, query)
            scope = route.namespace if rt.namespaced else None
            deleted = self.store.delete_collection(rt, scope, matches, options)
            return _json(self._list_body(rt, self.store.rv, deleted))
        raise errors.method_not_allowed(method, rt.plural, rt.group)

    def _matcher(self, route: Route, query: Any) -> Matcher:
        labels = label_matcher(query.get("labelSelector"))
        fields = field_matcher(query.get("fieldSelector"), route.rt.key)
        return lambda obj: labels(obj) and fields(obj)

    def _list(self, route: Route, query: Any) -> web.Response:
        try:
            limit = int(query.get("limit") or 0)
        except ValueError as exc:
            raise errors.bad_request(f"invalid limit: {query.get('limit')}") from exc
        selective = bool(query.get("labelSelector") or query.get("fieldSelector"))
        result = self.store.list_objects(
            route.rt,
            route.namespace,
            self._matcher(route, query),
            limit=max(limit, 0),
            continue_token=query.get("continue", ""),
            selective=selective,
        )
        body = self._list_body(route.rt, result.resource_version, result.items)
        if result.continue_token:
            body["metadata"]["continue"] = result.continue_token
        if result.remaining is not None:
            body["metadata"]["remainingItemCount"] = result.remaining
        return _json(body)

    def _list_body(self, rt: ResourceType, rv: int, items: list[Obj]) -> dict[str, Any]:
        return {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(rv)},
            "items": items,
        }

    async def _patch(self, request: web.Request, route: Route, dry_run: bool) -> web.Response:
        rt = route.rt
        accepted = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]
        if rt.builtin:
            accepted.append(STRATEGIC_MERGE_PATCH)
        content_type = request.content_type
        if content_type not in accepted:
            raise errors.unsupported_media_type(content_type, accepted)
        body = await self._body(request, tuple(accepted))
        query = request.query
        if route.subresource == "scale":
            if content_type not in (MERGE_PATCH, STRATEGIC_MERGE_PATCH) or not isinstance(
                body, dict
            ):
                raise errors.unsupported_media_type(content_type, [MERGE_PATCH])
            current = _scale_of(rt, self.store.get(rt, route.namespace or "", route.name))
            scale = merge_patch(current, body)
            return _json(self._write_scale(rt, route.namespace or "", route.name, scale, dry_run))
        obj, created = self.store.patch(
            rt,
            route.namespace or "",
            route.name,
            content_type,
            body,
            subresource=route.subresource,
            field_manager=query.get("fieldManager"),
            force=parse_bool("force", query.get("force")),
            dry_run=dry_run,
        )
        return _json(obj, 201 if created else 200)

    def _write_scale(
        self, rt: ResourceType, namespace: str, name: str, scale: Any, dry_run: bool
    ) -> Obj:
        if not isinstance(scale, dict):
            raise errors.bad_request("the body must be a Scale object")
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.bad_request("spec.replicas must be a non-negative integer")
        patch: dict[str, Any] = {"spec": {"replicas": replicas}}
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv:
            patch["metadata"] = {"resourceVersion": rv}
        obj, _ = self.store.patch(rt, namespace, name, MERGE_PATCH, patch, dry_run=dry_run)
        return _scale_of(rt, obj)

    async def _delete(self, request: web.Request, route: Route) -> web.Response:
        rt = route.rt
        options = await self._delete_options(request)
        obj, gone = self.store.delete(rt, route.namespace or "", route.name, options)
        if not gone or rt.returns_deleted_object:
            return _json(obj)
        details: dict[str, Any] = {"name": route.name, "kind": rt.plural}
        if rt.group:
            details["group"] = rt.group
        details["uid"] = obj["metadata"].get("uid", "")
        return _json(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": details,
            }
        )

    async def _delete_options(self, request: web.Request) -> DeleteOptions:
        body: Any = {}
        if request.can_read_body:
            raw = await request.read()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError as exc:
                    raise errors.bad_request(f"invalid DeleteOptions: {exc}") from exc
        if not isinstance(body, dict):
            raise errors.bad_request("DeleteOptions must be an object")
        query = request.query
        propagation = body.get("propagationPolicy") or query.get("propagationPolicy")
        orphan = body.get("orphanDependents")
        if orphan is None and "orphanDependents" in query:
            orphan = parse_bool("orphanDependents", query.get("orphanDependents"))
        if propagation is None:
            propagation = "Orphan" if orphan else "Background"
        preconditions = body.get("preconditions") or {}
        dry_run = "All" in (body.get("dryRun") or []) or query.get("dryRun") == "All"
        return DeleteOptions(
            propagation=propagation,
            precondition_uid=preconditions.get("uid"),
            precondition_rv=preconditions.get("resourceVersion"),
            dry_run=dry_run,
        )

    async def _body(self, request: web.Request, accepted: tuple[str, ...]) -> Any:
        content_type = request.content_type
        if content_type not in accepted and content_type != "application/octet-stream":
            raise errors.unsupported_media_type(content_type, list(accepted))
        raw = await request.read()
        try:
            if content_type in ("application/yaml", APPLY_PATCH):
                return yaml.safe_load(raw)
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as exc:
            raise errors.bad_request(f"the request body could not be decoded: {exc}") from exc

    # --- watch ------------------------------------------------------------------------------

    async def _watch(self, request: web.Request, route: Route) -> web.StreamResponse:
        query = request.query
        matches = self._matcher(route, query)
        bookmarks = parse_bool("allowWatchBookmarks", query.get("allowWatchBookmarks"))
        initial = parse_bool("sendInitialEvents", query.get("sendInitialEvents"))
        since = self._since(query.get("resourceVersion"), initial)
        timeout = self.watch_timeout
        if query.get("timeoutSeconds"):
            try:
                timeout = min(float(query["timeoutSeconds"]), timeout)
            except ValueError as exc:
                raise errors.bad_request("invalid timeoutSeconds") from exc

        response = web.StreamResponse(status=200)
        response.content_type = "application/json"
        response.enable_chunked_encoding()
        await response.prepare(request)

        async def send(kind: str, obj: Obj) -> None:
            line = json.dumps({"type": kind, "object": obj}, separators=(",", ":"))
            await response.write(line.encode() + b"\n")

        def bookmark(annotations: dict[str, str] | None = None) -> Obj:
            meta: dict[str, Any] = {"resourceVersion": str(self.store.rv)}
            if annotations:
                meta["annotations"] = annotations
            return {"kind": route.rt.kind, "apiVersion": route.rt.api_version, "metadata": meta}

        try:
            sub, replay = self.store.subscribe(route.rt, route.namespace, matches, since)
        except StatusError as exc:
            with contextlib.suppress(ConnectionError):
                await send("ERROR", exc.body())
                await response.write_eof()
            return response

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            for event in replay:
                await send(event.type, event.obj)
            if initial and bookmarks:
                await send("BOOKMARK", bookmark({"k8s.io/initial-events-end": "true"}))

            while not self._closing:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    if bookmarks:
                        await send("BOOKMARK", bookmark())
                    break
                wait = min(remaining, self.bookmark_interval) if bookmarks else remaining
                try:
                    async with asyncio.timeout(wait):
                        item: Event | None = await sub.queue.get()
                except TimeoutError:
                    if bookmarks and sub.queue.empty() and loop.time() < deadline:
                        await send("BOOKMARK", bookmark())
                    continue
                if item is None:
                    break
                await send(item.type, item.obj)
                if item.type == "ERROR":
                    break
            await response.write_eof()
        except ConnectionError:
            logger.debug("watch client went away: %s", request.path_qs)
        finally:
            self.store.unsubscribe(sub)
        return response

    def _since(self, value: str | None, initial: bool) -> int | None:
        if initial or value in (None, "", "0"):
            return None
        try:
            return int(value)
        except ValueError as exc:
            raise errors.bad_request(f'invalid resource version "{value}"') from exc


def _scale_of(rt: ResourceType, obj: Obj) -> Obj:
    """The autoscaling/v1 Scale view of a scalable object. Built-in kinds derive the selector
    from `spec.selector`; custom resources read the CRD's labelSelectorPath (`.status.selector`
    for Rollouts)."""
    meta = obj["metadata"]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    selector = "" if rt.builtin else str(status.get("selector", ""))
    match_labels = (spec.get("selector") or {}).get("matchLabels") or {}
    if rt.builtin and match_labels:
        selector = ",".join(f"{k}={v}" for k, v in sorted(match_labels.items()))
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: meta[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in meta
        },
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": {"replicas": status.get("replicas", 0), "selector": selector},
    }
