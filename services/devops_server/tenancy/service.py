"""The Tenancy service of devops-server's internal SDK (`workbench.devops.v1.Tenancy`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from google.protobuf import empty_pb2
from workbench_sdk.devops.v1 import tenancy_pb2 as pb
from workbench_sdk.devops.v1 import tenancy_pb2_grpc

from libs.common.errors import InvalidArgument
from services.devops_server.store.tables import Binding, Cluster, Workspace
from services.devops_server.tenancy.store import TenancyStore, millis
from services.devops_server.tenancy.watch import ChangeFeed

EMPTY = empty_pb2.Empty()


def workspace_message(row: Workspace) -> pb.Workspace:
    return pb.Workspace(id=row.id, alias=row.alias, created_at=millis(row.created_at))


def cluster_message(row: Cluster) -> pb.Cluster:
    return pb.Cluster(name=row.name, server=row.server, created_at=millis(row.created_at))


def binding_message(row: Binding) -> pb.Binding:
    return pb.Binding(
        workspace_id=row.workspace_id,
        cluster=row.cluster,
        namespace=row.namespace,
        created_at=millis(row.created_at),
    )


class TenancyService(tenancy_pb2_grpc.TenancyServicer):
    def __init__(self, store: TenancyStore, feed: ChangeFeed) -> None:
        self._store = store
        self._feed = feed

    async def CreateWorkspace(self, request: pb.CreateWorkspaceRequest, context: Any) -> Any:
        return workspace_message(await self._store.create_workspace(request.alias))

    async def GetWorkspace(self, request: pb.WorkspaceRef, context: Any) -> Any:
        return workspace_message(await self._store.get_workspace(request.id))

    async def DeleteWorkspace(self, request: pb.WorkspaceRef, context: Any) -> Any:
        await self._store.delete_workspace(request.id)
        return EMPTY

    async def ListWorkspaces(self, request: pb.ListWorkspacesRequest, context: Any) -> Any:
        revision = await self._store.last_revision()  # read first: see the proto
        rows, total = await self._store.list_workspaces(
            member=request.member,
            name_contains=request.name_contains,
            page=request.page,
            page_size=request.page_size,
        )
        items = [workspace_message(r) for r in rows]
        return pb.ListWorkspacesResponse(items=items, total=total, revision=revision)

    async def SetMember(self, request: pb.SetMemberRequest, context: Any) -> Any:
        await self._store.set_member(request.workspace_id, request.username, request.role)
        return EMPTY

    async def RemoveMember(self, request: pb.RemoveMemberRequest, context: Any) -> Any:
        await self._store.remove_member(request.workspace_id, request.username)
        return EMPTY

    async def ListMembers(self, request: pb.WorkspaceRef, context: Any) -> Any:
        rows = await self._store.list_members(request.id)
        return pb.ListMembersResponse(
            items=[pb.Member(username=r.username, role=r.role) for r in rows]
        )

    async def GetUserRoles(self, request: pb.GetUserRolesRequest, context: Any) -> Any:
        return pb.UserRoles(workspaces=await self._store.user_roles(request.username))

    async def RegisterCluster(self, request: pb.RegisterClusterRequest, context: Any) -> Any:
        return cluster_message(await self._store.register_cluster(request.name, request.kubeconfig))

    async def RemoveCluster(self, request: pb.ClusterRef, context: Any) -> Any:
        await self._store.remove_cluster(request.name)
        return EMPTY

    async def ListClusters(self, request: pb.ListClustersRequest, context: Any) -> Any:
        rows = await self._store.list_clusters()
        return pb.ListClustersResponse(items=[cluster_message(r) for r in rows])

    async def GetClusterAccess(self, request: pb.ClusterRef, context: Any) -> Any:
        access = await self._store.cluster_access(request.name)
        return pb.ClusterAccess(
            name=access.name, server=access.server, kubeconfig=access.kubeconfig
        )

    async def BindNamespace(self, request: pb.Binding, context: Any) -> Any:
        await self._store.bind(request.workspace_id, request.cluster, request.namespace)
        return EMPTY

    async def UnbindNamespace(self, request: pb.Binding, context: Any) -> Any:
        await self._store.unbind(request.workspace_id, request.cluster, request.namespace)
        return EMPTY

    async def ListBindings(self, request: pb.ListBindingsRequest, context: Any) -> Any:
        rows = await self._store.list_bindings(
            workspace_id=request.workspace_id, cluster=request.cluster
        )
        return pb.ListBindingsResponse(items=[binding_message(r) for r in rows])

    async def GetSettings(self, request: empty_pb2.Empty, context: Any) -> Any:
        return pb.Settings(json=json.dumps(await self._store.get_settings()))

    async def UpdateSettings(self, request: pb.Settings, context: Any) -> Any:
        try:
            value = json.loads(request.json)
        except json.JSONDecodeError as error:
            raise InvalidArgument(f"settings: not valid JSON: {error}") from None
        if not isinstance(value, dict):
            raise InvalidArgument("settings: must be a JSON object")
        return pb.Settings(json=json.dumps(await self._store.update_settings(value)))

    async def WatchChanges(
        self, request: pb.WatchChangesRequest, context: Any
    ) -> AsyncIterator[pb.Change]:
        async for batch in self._feed.follow(request.after_revision):
            for change in batch:
                yield pb.Change(
                    revision=change.revision,
                    kind=change.kind,
                    key=change.key,
                    action=change.action,
                    at=millis(change.at),
                )
