"""One KubeVela (OAM) namespace per workspace in the control-plane cluster.

KubeVela Applications of workspace 7 live in the namespace `workspace-7-oam` of the
control-plane cluster, labelled `workbench.io/workspace: "7"` (so the apiserver and KubeVela
policies can tell which workspace owns it) and `app.kubernetes.io/managed-by: workbench`.

The syncer owns only those two labels. A namespace of that name that someone created first
is adopted: labelled, never recreated. When the workspace is deleted the namespace is
deleted too, and with it every Application in it, but only if both labels say Workbench made
it for that workspace.
"""

from __future__ import annotations

from typing import Any, cast

from kubernetes_asyncio import client

from libs.controller import ListWatch
from libs.kube.objects import MERGE_PATCH, RAW, raw_json
from services.syncer.provider import WORKSPACE_LABEL, Provider, workspace_labels
from services.syncer.tenancy import TenancyView, WorkspaceState

__all__ = ["OamNamespaces", "oam_namespace"]

Obj = dict[str, Any]


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
