"""What every per-workspace provider shares: one object per workspace, converged on its own.

A provider (the Argo CD AppProject, the KubeVela namespace) owns exactly one Kubernetes
object per workspace in the control-plane cluster. Its reconcile of workspace `7`:

1. Reads the desired state from the `TenancyView` (None: the workspace is gone) and the
   actual object from its `ObjectCache`, which a `ListWatch` over the objects labelled
   `workbench.io/workspace` keeps current.
2. Workspace gone: deletes the object, but only if Workbench labelled it as its own for this
   workspace (both labels below); anything else with that name is left alone. An object
   already being deleted (a namespace emptying itself) is not deleted again.
3. Object missing: creates it. If the create meets `AlreadyExists` (an object with the name
   but without our label, so invisible to the watch, or a cache behind its watch), reads it
   and goes on as for an existing object.
4. Object present: computes the merge patch of the fields the provider owns and writes it
   only if it is not empty, carrying the `resourceVersion` it compared against as a
   precondition, so an edit made meanwhile answers 409 and the key is retried against the
   newer state rather than overwritten blindly.

So a converged system makes no writes at all: the resync and the watch events caused by the
provider's own writes reconcile keys that compare equal and stop there.

Failures (any `ApiException`, a closed connection) propagate to the `Controller`, which logs
them once and retries the key with its exponential backoff. Each provider has its own
controller, so a provider whose API is failing slows only its own keys.

Every write is counted in `workbench_syncer_repairs_total{provider, action}` (`created`,
`updated`, `deleted`): each one repairs a difference between desired and actual state, be it
a new workspace or an object edited behind the syncer's back. `writes` counts them for this
instance only (two syncers in one test process share the metric).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from kubernetes_asyncio.client.exceptions import ApiException
from prometheus_client import Counter

from libs.controller import ListWatch
from libs.kube.objects import ObjectCache, owned_patch
from services.syncer.tenancy import TenancyView, WorkspaceState

__all__ = ["MANAGED_BY", "WORKSPACE_LABEL", "Provider"]

logger = logging.getLogger(__name__)

Obj = dict[str, Any]

WORKSPACE_LABEL = "workbench.io/workspace"
MANAGED_BY = ("app.kubernetes.io/managed-by", "workbench")

REPAIRS = Counter(
    "workbench_syncer_repairs",
    "Writes that brought an object to its desired state, by provider and action.",
    ["provider", "action"],
)


def workspace_labels(workspace_id: int) -> dict[str, str]:
    return {WORKSPACE_LABEL: str(workspace_id), MANAGED_BY[0]: MANAGED_BY[1]}


def labelled_workspace(obj: Obj) -> int | None:
    """The workspace id in an object's `workbench.io/workspace` label, if it has a valid one."""
    value = ((obj.get("metadata") or {}).get("labels") or {}).get(WORKSPACE_LABEL, "")
    return int(value) if value.isdigit() else None


def _deleting(obj: Obj) -> bool:
    """Whether a delete has been accepted and the object only waits for its finalizers."""
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


class Provider(ABC):
    """One object per workspace, reconciled by a key that is the workspace id."""

    provider: str  # the controller's name and the metrics label

    def __init__(self, view: TenancyView, namespace: str = "") -> None:
        self.view = view
        self.namespace = namespace  # "" for a cluster-scoped kind
        self.cache = ObjectCache(on_event=self._observed)
        self.enqueue: Callable[[int], None] = lambda workspace_id: None
        self.writes = 0

    # What a provider defines.

    @abstractmethod
    def object_name(self, workspace_id: int) -> str: ...

    @abstractmethod
    def desired(self, state: WorkspaceState) -> Obj:
        """The whole object to create; its labels and `owned` fields are kept equal."""

    @abstractmethod
    def owned(self, desired: Obj) -> Obj:
        """The part of `desired` this provider keeps equal (a merge-patch shape)."""

    @abstractmethod
    def list_watch(self) -> ListWatch:
        """A ListWatch over this provider's labelled objects, reporting to `cache.handle`."""

    @abstractmethod
    async def _create(self, obj: Obj) -> Obj: ...

    @abstractmethod
    async def _read(self, name: str) -> Obj: ...

    @abstractmethod
    async def _patch(self, name: str, patch: Obj) -> Obj: ...

    @abstractmethod
    async def _delete(self, name: str) -> None: ...

    # The reconcile.

    def workspaces_seen(self) -> set[int]:
        """Workspaces that own an object in the cache (gone ones included, to clean up)."""
        return {ws for ws in map(labelled_workspace, self.cache) if ws is not None}

    async def reconcile(self, workspace_id: int) -> None:
        name = self.object_name(workspace_id)
        state = self.view.workspace(workspace_id)
        actual = self.cache.get(name, self.namespace)

        if state is None:
            if actual is not None and self._ours(actual, workspace_id) and not _deleting(actual):
                await self._remove(name, workspace_id)
            return

        desired = self.desired(state)
        if actual is None:
            actual = await self._add(desired, workspace_id)
            if actual is None:
                return
        await self._converge(actual, desired, workspace_id)

    def _ours(self, obj: Obj, workspace_id: int) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return bool(
            labels.get(WORKSPACE_LABEL) == str(workspace_id)
            and labels.get(MANAGED_BY[0]) == MANAGED_BY[1]
        )

    async def _add(self, desired: Obj, workspace_id: int) -> Obj | None:
        """Create the object; if it exists already, return what is there to converge."""
        name = desired["metadata"]["name"]
        try:
            created = await self._create(desired)
        except ApiException as error:
            if error.status != 409:
                raise
            return await self._read(name)

        self._wrote("created", name, workspace_id)
        self.cache.remember(created)
        return None

    async def _converge(self, actual: Obj, desired: Obj, workspace_id: int) -> None:
        name = desired["metadata"]["name"]
        if _deleting(actual):
            # A namespace being torn down cannot be patched back to life; try again once
            # it has gone (its DELETED event queues the key as well).
            raise RuntimeError(f"{name} is being deleted; it is created again once gone")

        patch = owned_patch(actual, self.owned(desired))
        if not patch:
            return

        patch.setdefault("metadata", {})["resourceVersion"] = actual["metadata"]["resourceVersion"]
        try:
            updated = await self._patch(name, patch)
        except ApiException as error:
            # The cache was behind: changed (409) or gone (404) since it saw the object. The
            # retry then compares against the newest state, or creates the object again.
            if error.status == 409:
                self.cache.remember(await self._read(name))
            elif error.status == 404:
                self.cache.forget(name, self.namespace)
            raise

        self._wrote("updated", name, workspace_id, sorted(patch))
        self.cache.remember(updated)

    async def _remove(self, name: str, workspace_id: int) -> None:
        try:
            await self._delete(name)
        except ApiException as error:
            if error.status != 404:
                raise
        else:
            self._wrote("deleted", name, workspace_id)
        self.cache.forget(name, self.namespace)

    def _wrote(
        self, action: str, name: str, workspace_id: int, fields: list[str] | None = None
    ) -> None:
        self.writes += 1
        REPAIRS.labels(self.provider, action).inc()
        logger.info(
            "%s: %s %s for workspace %d%s",
            self.provider,
            action,
            name,
            workspace_id,
            f" ({', '.join(fields)})" if fields else "",
            extra={"provider": self.provider, "workspace": workspace_id, "object": name},
        )

    def _observed(self, obj: Obj) -> None:
        workspace_id = labelled_workspace(obj)
        if workspace_id is not None:
            self.enqueue(workspace_id)
