"""`KubeStandIn`: one fake cluster, its lifecycle, its test hooks and its kubeconfig.

A stand-in is created with the kinds a real cluster of its role would serve: every cluster
has the built-in kinds and the namespaces `default`, `kube-system`, `kube-public` and
`kube-node-lease`; the control plane also has Argo CD, Argo Rollouts, KubeVela and
app.k8s.io installed (their CRDs and namespaces), and a member cluster has what Workbench
deploys there (Argo Rollouts and app.k8s.io). The CRDs are stored as objects, so they show
up in `kubectl get crd`-style listings and can be added or removed through the API.

The hooks act on the store directly, in the loop that serves requests; they are plain
methods because every store operation is synchronous. From another thread (the synchronous
`kubernetes` client tests) use `ThreadedKubeStandIn`, which forwards calls into the loop.

With a `state_dir`, the objects are written to `state.json` after changes (coalesced, at
most a few times a second) and loaded on start, so `make run` keeps its clusters across
restarts. History is not kept: after a restart every older resourceVersion is expired, and
watches that resume from one get a 410, as after an etcd compaction.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from sandbox.kube import _errors as errors
from sandbox.kube import crds
from sandbox.kube._registry import BUILTIN_TYPES, Registry, ResourceType
from sandbox.kube._server import ApiServer
from sandbox.kube._store import Event, Obj, Store

logger = logging.getLogger(__name__)

_FLUSH_DELAY = 0.2


class KubeStandIn:
    """A Kubernetes API server stand-in for one cluster, served on 127.0.0.1."""

    def __init__(
        self,
        name: str = "member-1",
        *,
        control_plane: bool = False,
        token: str | None = None,
        crd_manifests: Iterable[dict[str, Any]] | None = None,
        namespaces: Iterable[str] | None = None,
        state_dir: str | Path | None = None,
        history: int = 1000,
        bookmark_interval: float = 5.0,
        watch_timeout: float = 1800.0,
    ) -> None:
        self.name = name
        self.control_plane = control_plane
        self.token = token if token is not None else secrets.token_urlsafe(24)
        self.registry = Registry(BUILTIN_TYPES)
        self.store = Store(self.registry, history=history)
        self.server = ApiServer(
            self.registry,
            self.store,
            token=self.token,
            bookmark_interval=bookmark_interval,
            watch_timeout=watch_timeout,
        )
        self.state_path = Path(state_dir) / "state.json" if state_dir else None
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._flush_handle: asyncio.TimerHandle | None = None

        if self.state_path is not None and self.state_path.exists():
            self.store.restore(json.loads(self.state_path.read_text()))
            logger.info("cluster %s restored from %s", name, self.state_path)
        else:
            self._install(crd_manifests, namespaces)
        if self.state_path is not None:
            self.store.on_commit = self._schedule_flush

    def _install(
        self, crd_manifests: Iterable[dict[str, Any]] | None, namespaces: Iterable[str] | None
    ) -> None:
        if crd_manifests is None:
            crd_manifests = crds.CONTROL_PLANE if self.control_plane else crds.MEMBER
        if namespaces is None:
            extra = crds.CONTROL_PLANE_NAMESPACES if self.control_plane else crds.MEMBER_NAMESPACES
            namespaces = crds.BASE_NAMESPACES + extra
        for ns in namespaces:
            self.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for manifest in crd_manifests:
            self.seed(manifest)

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        """Serve on `host:port` (0: a free port) in the running loop; returns the URL."""
        self._runner = web.AppRunner(
            self.server.app(), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0][1]
        self.server.address = f"{host}:{bound}"
        self.url = f"http://{host}:{bound}"
        logger.info("cluster %s serving on %s", self.name, self.url)
        return self.url

    async def stop(self) -> None:
        """Close watches, stop serving, and write the state if it is kept."""
        self.server.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self.flush()
        logger.info("cluster %s stopped", self.name)

    async def __aenter__(self) -> KubeStandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- kubeconfig -------------------------------------------------------------------------

    def kubeconfig(self, *, namespace: str = "default") -> dict[str, Any]:
        """A kubeconfig with one cluster, user and context named after this cluster."""
        if not self.url:
            raise RuntimeError("the stand-in is not serving yet; await start() first")
        user: dict[str, Any] = {"token": self.token} if self.token else {}
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": self.name, "cluster": {"server": self.url}}],
            "users": [{"name": f"{self.name}-admin", "user": user}],
            "contexts": [
                {
                    "name": self.name,
                    "context": {
                        "cluster": self.name,
                        "user": f"{self.name}-admin",
                        "namespace": namespace,
                    },
                }
            ],
            "current-context": self.name,
            "preferences": {},
        }

    def kubeconfig_text(self, *, namespace: str = "default") -> str:
        """`kubeconfig()` as the YAML document a kubeconfig file holds."""
        return yaml.safe_dump(self.kubeconfig(namespace=namespace), sort_keys=False)

    def write_kubeconfig(self, path: str | Path, *, namespace: str = "default") -> Path:
        """Write `kubeconfig()` as YAML, readable by the owner only (it holds the token).

        Written beside the target and renamed onto it, so whoever waits for the file to
        appear never reads half of it.
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.kubeconfig_text(namespace=namespace))
        os.replace(partial, target)
        return target

    # --- hooks: state -----------------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> ResourceType:
        """The registered type of a kind, or KeyError."""
        rt = self.registry.by_kind(api_version, kind)
        if rt is None:
            raise KeyError(f"{kind} ({api_version}) is not served by cluster {self.name}")
        return rt

    def seed(self, obj: dict[str, Any]) -> Obj:
        """Store an object as given, status included, creating or replacing it; fills uid,
        creationTimestamp, generation and resourceVersion, and notifies watches."""
        rt = self.resource(obj["apiVersion"], obj["kind"])
        return self.store.seed(rt, obj)

    def register_crd(self, manifest: dict[str, Any]) -> Obj:
        """Install a CRD (the same as creating it through the API)."""
        return self.seed(manifest)

    def get_object(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Obj | None:
        """The stored object, or None."""
        rt = self.resource(api_version, kind)
        return self.store.find(rt.key, (namespace or "default") if rt.namespaced else "", name)

    def list_objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[Obj]:
        """Every stored object of a kind, optionally in one namespace."""
        rt = self.resource(api_version, kind)
        objs = self.store.all_objects(rt.key)
        if namespace is not None:
            objs = [o for o in objs if o["metadata"].get("namespace") == namespace]
        return objs

    def delete_object(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> None:
        """Remove an object at once, ignoring finalizers (as a force-delete of etcd data)."""
        rt = self.resource(api_version, kind)
        stored = self.store.find(rt.key, (namespace or "default") if rt.namespaced else "", name)
        if stored is not None:
            self.store.force_remove(rt, stored)

    @property
    def resource_version(self) -> int:
        return self.store.rv

    # --- hooks: traffic ---------------------------------------------------------------------

    @property
    def writes(self) -> Counter[str]:
        """Mutating requests received, per resource (`secrets`, `appprojects.argoproj.io`)."""
        return self.server.writes

    @property
    def total_writes(self) -> int:
        return sum(self.server.writes.values())

    def reset_writes(self) -> None:
        self.server.writes.clear()

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every request received as (method, path with query), oldest first."""
        return list(self.server.requests)

    # --- hooks: faults ----------------------------------------------------------------------

    def fail_next_write(
        self, status: int = 409, *, times: int = 1, resource: str | None = None
    ) -> None:
        """Answer the next `times` mutating requests (to `resource`, a key such as
        `secrets` or `appprojects.argoproj.io`, or to any) with `status`. A 409 on a named
        object is a real `Conflict` Status."""
        self.server.faults.add_write_fault(status, times, resource)

    def fail_requests(self, status: int = 500, *, times: int | None = None) -> None:
        """Answer every request (or the next `times`) with `status` until `clear_faults()`."""
        self.server.faults.requests_code = status
        self.server.faults.requests_remaining = times

    def slow_requests(self, seconds: float, *, resource: str | None = None) -> None:
        """Answer every request to `resource` (a key such as `leases.coordination.k8s.io`, or
        any) only after `seconds`, until `clear_faults()`; a long delay is a hung server."""
        self.server.faults.delays[resource] = seconds

    def clear_faults(self) -> None:
        self.server.faults.clear()

    @property
    def open_watches(self) -> int:
        """Watch streams open now, each subscribed to the changes that come next (a test waits
        for one before it drops, expires or changes what the watch must see)."""
        return self.store.open_watches

    def drop_watches(self) -> int:
        """End every open watch stream cleanly, as an API server restart would; returns how
        many were open."""
        return self.store.close_watches()

    def expire_history(self, *, notify_watches: bool = False) -> None:
        """Compact history: watches and `continue` tokens from any earlier resourceVersion
        get 410 Expired. With `notify_watches`, open watches receive an ERROR 410 and end."""
        self.store.expire()
        if notify_watches:
            status = errors.gone(f"too old resource version: {self.store.rv}").body()
            self.store.close_watches(Event(self.store.rv, "", "ERROR", status))

    # --- persistence ------------------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if self._flush_handle is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # changes made before the loop runs are written by stop()
        self._flush_handle = loop.call_later(_FLUSH_DELAY, self._flush_now)

    def _flush_now(self) -> None:
        self._flush_handle = None
        self.flush()

    def flush(self) -> None:
        """Write the state file now (no-op without a state directory)."""
        if self.state_path is None:
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.store.snapshot()))
        tmp.replace(self.state_path)
