"""One KubeVela (OAM) namespace per workspace in the control-plane cluster, and the only place
the workspace's KubeVela Applications live.

KubeVela Applications of workspace 7 live in the namespace `workspace-7-oam` of the
control-plane cluster, labelled `workbench.io/workspace: "7"` (so the apiserver and KubeVela
policies can tell which workspace owns it) and `app.kubernetes.io/managed-by: workbench`.

The syncer owns only those two labels. A namespace of that name that someone created first
is adopted: labelled, never recreated. When the workspace is deleted the namespace is
deleted too, and with it every Application in it, but only if both labels say Workbench made
it for that workspace.

The confinement (`OamApplications`, controller `kubevela-application`): a watch over the
`applications.core.oam.dev` labelled `workbench.io/workspace` in every namespace of the
control-plane cluster queues the workspace each one names. An Application labelled for
workspace 7 anywhere but `workspace-7-oam` is reported (a warning naming it, and
`workbench_syncer_stray_applications_total`) and deleted. Deleted rather than left alone,
because a workspace's applications are kept in its namespace, which is what lets its
namespace's quotas and policies, and its deletion, govern them; an Application elsewhere
claiming the workspace would escape all three. Deleted rather than moved, because a copy in
the workspace's namespace would deploy whatever its author put there under the workspace's
name. The same holds for a workspace that no longer exists: its Applications in its namespace
go with the namespace, and any labelled for it elsewhere are deleted as strays. Applications
without the label are not looked at: they belong to nobody Workbench knows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException
from prometheus_client import Counter

from libs.controller import ListWatch
from libs.kube.objects import MERGE_PATCH, RAW, ObjectCache, raw_json
from services.syncer.provider import (
    REPAIRS,
    WORKSPACE_LABEL,
    Provider,
    labelled_workspace,
    workspace_labels,
)
from services.syncer.tenancy import TenancyView, WorkspaceState

__all__ = ["OamApplications", "OamNamespaces", "oam_namespace"]

logger = logging.getLogger(__name__)

Obj = dict[str, Any]

APP_GROUP, APP_VERSION, APP_PLURAL = "core.oam.dev", "v1beta1", "applications"

STRAYS = Counter(
    "workbench_syncer_stray_applications",
    "KubeVela Applications found outside their workspace's OAM namespace (each is deleted).",
)


def oam_namespace(workspace_id: int) -> str:
    return f"workspace-{workspace_id}-oam"


class OamNamespaces(Provider):
    provider = "kubevela-namespace"

    def __init__(self, api_client: client.ApiClient, view: TenancyView) -> None:
        super().__init__(view)
        self._api = client.CoreV1Api(api_client)

    def object_name(self, workspace_id: int) -> str:
        return oam_namespace(workspace_id)

    def desired(self, state: WorkspaceState) -> Obj:
        return {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": oam_namespace(state.id), "labels": workspace_labels(state.id)},
        }

    def owned(self, desired: Obj) -> Obj:
        return {"metadata": {"labels": desired["metadata"]["labels"]}}

    def list_watch(self) -> ListWatch:
        return ListWatch(self._list_namespaces, self.cache.handle, label_selector=WORKSPACE_LABEL)

    async def _list_namespaces(self, **query: Any) -> Any:
        # IMPORTANT: no ":rtype:" in this function's docstring. The watch reads the return
        # type from the listing function's docstring and, finding none, hands events over as
        # plain dicts instead of building a V1Namespace model for every one.
        return await self._api.list_namespace(**query)

    async def _create(self, obj: Obj) -> Obj:
        return await raw_json(self._api.create_namespace(cast(Any, obj), **RAW))

    async def _read(self, name: str) -> Obj:
        return await raw_json(self._api.read_namespace(name, **RAW))

    async def _patch(self, name: str, patch: Obj) -> Obj:
        return await raw_json(self._api.patch_namespace(name, patch, **MERGE_PATCH, **RAW))

    async def _delete(self, name: str) -> None:
        await raw_json(self._api.delete_namespace(name, **RAW))


class OamApplications:
    """The watch, key listing and reconcile of the `kubevela-application` controller."""

    name = "kubevela-application"

    def __init__(self, api_client: client.ApiClient) -> None:
        self._api = client.CustomObjectsApi(api_client)
        self.cache = ObjectCache(on_event=self._observed)
        self.enqueue: Callable[[int], None] = lambda workspace_id: None
        self.writes = 0

    def list_watch(self) -> ListWatch:
        """A ListWatch over the labelled Applications of every namespace."""
        return ListWatch(
            self._api.list_cluster_custom_object,
            self.cache.handle,
            group=APP_GROUP,
            version=APP_VERSION,
            plural=APP_PLURAL,
            label_selector=WORKSPACE_LABEL,
        )

    async def keys(self) -> set[int]:
        """Every workspace an Application names; the others have nothing to confine."""
        return {ws for ws in map(labelled_workspace, self.cache) if ws is not None}

    async def reconcile(self, workspace_id: int) -> None:
        home = oam_namespace(workspace_id)
        for app in self.cache:
            metadata = app.get("metadata") or {}
            namespace, name = metadata.get("namespace", ""), metadata.get("name", "")
            if labelled_workspace(app) != workspace_id or namespace == home:
                continue
            if metadata.get("deletionTimestamp"):
                continue  # deleted already, waiting for its finalizers

            STRAYS.inc()
            logger.warning(
                "%s: Application %s/%s is labelled for workspace %d outside its namespace %s; "
                "deleting it",
                self.name,
                namespace,
                name,
                workspace_id,
                home,
                extra={"provider": self.name, "workspace": workspace_id},
            )
            try:
                await self._api.delete_namespaced_custom_object(
                    APP_GROUP, APP_VERSION, namespace, APP_PLURAL, name
                )
            except ApiException as error:
                if error.status != 404:
                    raise
            else:
                self.writes += 1
                REPAIRS.labels(self.name, "deleted").inc()
            self.cache.forget(name, namespace)

    def _observed(self, app: Obj) -> None:
        workspace_id = labelled_workspace(app)
        if workspace_id is not None:
            self.enqueue(workspace_id)
