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
from libs.kube.objects import MERGE_PATCH
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
        self._client = api_client
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
        return ListWatch(
            self._api.list_namespace, self.cache.handle, label_selector=WORKSPACE_LABEL
        )

    def _plain(self, model: object) -> Obj:
        plain: Obj = self._client.sanitize_for_serialization(model)
        return plain

    async def _create(self, obj: Obj) -> Obj:
        return self._plain(await self._api.create_namespace(cast(Any, obj)))

    async def _read(self, name: str) -> Obj:
        return self._plain(await self._api.read_namespace(name))

    async def _patch(self, name: str, patch: Obj) -> Obj:
        answer = await self._api.patch_namespace(name, patch, **MERGE_PATCH)
        return self._plain(answer)

    async def _delete(self, name: str) -> None:
        await self._api.delete_namespace(name)
