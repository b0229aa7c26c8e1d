"""The Core, Management (amamba.io) and Tenancy services of the apiserver.

Tenancy state lives in devops-server; cluster and namespace names are read from the member
clusters themselves. Authorisation has already happened in the interceptor when a handler
runs; handlers only narrow what a caller sees (the workspaces it belongs to).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from typing import Any

from amamba.core.v1alpha1 import (
    core_pb2,
    core_pb2_grpc,
    management_pb2,
    management_pb2_grpc,
    tenancy_pb2,
    tenancy_pb2_grpc,
)
from amamba.types import types_pb2
from google.protobuf import empty_pb2, json_format
from kubernetes_asyncio import client as k8s
from workbench_sdk.devops.v1 import tenancy_pb2 as sdk

from libs.common import names, paging
from libs.common.errors import InvalidArgument, NotFound
from libs.devops_client import DevopsClient
from libs.kube.clusters import ClusterClients
from services.apiserver import auth
from services.apiserver.rbac import PLATFORM_PERMISSIONS

logger = logging.getLogger(__name__)

EMPTY = empty_pb2.Empty()
KUBE_TIMEOUT = 10
WORKSPACE_LABEL = "workbench.io/workspace"

FEATURE_GATES = (
    management_pb2.FeatureGate(
        id="pipeline", name="Pipelines", description="CI on Jenkins", enabled=True, status="GA"
    ),
    management_pb2.FeatureGate(
        id="gitops", name="GitOps", description="CD on Argo CD", enabled=False, status="Planned"
    ),
    management_pb2.FeatureGate(
        id="rollouts",
        name="Progressive delivery",
        description="Argo Rollouts",
        enabled=False,
        status="Planned",
    ),
    management_pb2.FeatureGate(
        id="oam", name="OAM applications", description="KubeVela", enabled=False, status="Planned"
    ),
)


def page_message(described: paging.Page) -> types_pb2.Page:
    return types_pb2.Page(
        page=described.page,
        page_size=described.page_size,
        total=described.total,
        pages=described.pages,
    )


class CoreService(core_pb2_grpc.CoreServicer):
    def __init__(self, devops: DevopsClient, clusters: ClusterClients) -> None:
        self._devops = devops
        self._clusters = clusters

    async def _status(self, cluster: str) -> core_pb2.ClusterStatus.ValueType:
        if await self._clusters.reachable(cluster):
            return core_pb2.CLUSTER_STATUS_RUNNING
        return core_pb2.CLUSTER_STATUS_NOT_RUNNING

    async def _bindings(self, workspace_id: int, cluster: str = "") -> list[sdk.Binding]:
        answer = await self._devops.call(
            self._devops.tenancy.ListBindings,
            sdk.ListBindingsRequest(workspace_id=workspace_id, cluster=cluster),
        )
        return list(answer.items)

    async def ListVisibleWorkspaces(
        self, request: core_pb2.ListVisibleWorkspacesRequest, context: Any
    ) -> core_pb2.ListWorkspaceResponse:
        caller = auth.current()
        page, page_size = paging.window(request.page, request.page_size)
        answer = await self._devops.call(
            self._devops.tenancy.ListWorkspaces,
            sdk.ListWorkspacesRequest(
                member="" if caller.platform_admin else caller.username,
                name_contains=request.name,
                page=page,
                page_size=page_size,
            ),
        )
        return core_pb2.ListWorkspaceResponse(
            items=[core_pb2.Workspace(workspace_id=w.id, alias=w.alias) for w in answer.items],
            pagination=page_message(paging.describe(page, page_size, answer.total)),
        )

    async def ListPlatformRolePermissionsForCurrentUser(
        self, request: Any, context: Any
    ) -> core_pb2.ListPlatformRolePermissionsForCurrentUserResponse:
        granted = sorted(PLATFORM_PERMISSIONS) if auth.current().platform_admin else []
        return core_pb2.ListPlatformRolePermissionsForCurrentUserResponse(permissions=granted)

    async def ListRolePermissionsByWorkspaceForCurrentUser(
        self, request: core_pb2.ListRolePermissionsByWorkspaceForCurrentUserRequest, context: Any
    ) -> core_pb2.ListRolePermissionsByWorkspaceForCurrentUserResponse:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        granted = await auth.current().permissions_in(workspace_id)
        return core_pb2.ListRolePermissionsByWorkspaceForCurrentUserResponse(
            permissions=sorted(granted)
        )

    async def ListClusterNames(
        self, request: Any, context: Any
    ) -> core_pb2.ListClusterNamesResponse:
        answer = await self._devops.call(
            self._devops.tenancy.ListClusters, sdk.ListClustersRequest()
        )
        return core_pb2.ListClusterNamesResponse(items=[c.name for c in answer.items])

    async def ListClusterNamespaceNames(
        self, request: core_pb2.ListClusterNamespaceNamesRequest, context: Any
    ) -> core_pb2.ListClusterNamespaceNamesResponse:
        cluster = names.dns_label("cluster", request.cluster)
        core = await self._clusters.core(cluster)
        listed = await self._clusters.call(
            cluster, lambda: core.list_namespace(_request_timeout=KUBE_TIMEOUT)
        )
        return core_pb2.ListClusterNamespaceNamesResponse(
            items=sorted(ns.metadata.name for ns in listed.items)
        )

    async def ListDeployTargets(
        self, request: core_pb2.ListDeployTargetsRequest, context: Any
    ) -> core_pb2.ListDeployTargetsResponse:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        by_cluster: dict[str, list[str]] = defaultdict(list)
        for binding in await self._bindings(workspace_id, request.cluster):
            by_cluster[binding.cluster].append(binding.namespace)
        return core_pb2.ListDeployTargetsResponse(
            items=[
                core_pb2.DeploymentTarget(
                    cluster=cluster,
                    namespaces=sorted(spaces),
                    status=await self._status(cluster),
                    alias_name=cluster,
                )
                for cluster, spaces in sorted(by_cluster.items())
            ]
        )

    async def ListBoundClusters(
        self, request: core_pb2.ListBoundClustersRequest, context: Any
    ) -> core_pb2.ListBoundClusterResponse:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        bound = {b.cluster for b in await self._bindings(workspace_id)}
        registered = await self._devops.call(
            self._devops.tenancy.ListClusters, sdk.ListClustersRequest()
        )
        clusters = [
            core_pb2.Cluster(
                name=c.name,
                alias_name=c.name,
                created_at=c.created_at,
                status=await self._status(c.name),
            )
            for c in registered.items
            if c.name in bound
        ]
        if request.status != core_pb2.CLUSTER_STATUS_UNSPECIFIED:
            clusters = [c for c in clusters if c.status == request.status]
        shown, described = paging.paginate(clusters, request.page, request.page_size)
        return core_pb2.ListBoundClusterResponse(items=shown, pagination=page_message(described))

    async def ListBoundNamespaces(
        self, request: core_pb2.ListBoundNamespacesRequest, context: Any
    ) -> core_pb2.ListBoundNamespaceResponse:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        bindings = [
            b
            for b in await self._bindings(workspace_id, request.cluster)
            if request.name in b.namespace
        ]
        keys = {
            types_pb2.CREATED_AT: lambda b: (b.created_at, b.cluster, b.namespace),
            types_pb2.CLUSTER: lambda b: (b.cluster, b.namespace),
        }
        key = keys.get(request.sort_by, lambda b: (b.namespace, b.cluster))
        bindings.sort(key=key, reverse=request.sort_dir == types_pb2.DESC)
        items = [
            core_pb2.Namespace(
                name=b.namespace,
                cluster=b.cluster,
                workspace_id=str(b.workspace_id),
                creation_timestamp=b.created_at,
            )
            for b in bindings
        ]
        shown, described = paging.paginate(items, request.page, request.page_size)
        return core_pb2.ListBoundNamespaceResponse(items=shown, pagination=page_message(described))

    async def CreateNamespace(
        self, request: core_pb2.CreateNamespaceRequest, context: Any
    ) -> core_pb2.Namespace:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        cluster = names.dns_label("cluster", request.cluster)
        name = names.dns_label("name", request.name)
        labels = {**request.labels, WORKSPACE_LABEL: str(workspace_id)}
        for key in request.labels:
            if not key or len(key) > 317 or "\n" in key:
                raise InvalidArgument(f"labels: {key[:40]!r} is not a valid label key")

        core = await self._clusters.core(cluster)
        body = k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name, labels=labels))
        created = await self._clusters.call(
            cluster, lambda: core.create_namespace(body, _request_timeout=KUBE_TIMEOUT)
        )
        await self._devops.call(
            self._devops.tenancy.BindNamespace,
            sdk.Binding(workspace_id=workspace_id, cluster=cluster, namespace=name),
        )
        stamp = created.metadata.creation_timestamp
        return core_pb2.Namespace(
            name=name,
            cluster=cluster,
            workspace_id=str(workspace_id),
            creation_timestamp=int(stamp.timestamp() * 1000) if stamp else 0,
            labels=labels,
        )

    async def DeleteNamespace(
        self, request: core_pb2.DeleteNamespaceRequest, context: Any
    ) -> empty_pb2.Empty:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        cluster = names.dns_label("cluster", request.cluster)
        namespace = names.dns_label("namespace", request.namespace)
        bound = {(b.cluster, b.namespace) for b in await self._bindings(workspace_id, cluster)}
        if (cluster, namespace) not in bound:
            raise NotFound(
                f"namespace {namespace!r} of cluster {cluster!r} is not bound to this workspace"
            )

        core = await self._clusters.core(cluster)
        try:
            await self._clusters.call(
                cluster, lambda: core.delete_namespace(namespace, _request_timeout=KUBE_TIMEOUT)
            )
        except NotFound:
            logger.info("namespace %s/%s was already gone from the cluster", cluster, namespace)
        await self._devops.call(
            self._devops.tenancy.UnbindNamespace,
            sdk.Binding(workspace_id=workspace_id, cluster=cluster, namespace=namespace),
        )
        return EMPTY


class ManagementService(management_pb2_grpc.ManagementServicer):
    def __init__(self, devops: DevopsClient) -> None:
        self._devops = devops

    async def ListFeatureGate(
        self, request: Any, context: Any
    ) -> management_pb2.ListFeatureGatesResponse:
        return management_pb2.ListFeatureGatesResponse(items=FEATURE_GATES)

    async def GetFeatureGate(
        self, request: management_pb2.GetFeatureGateRequest, context: Any
    ) -> management_pb2.FeatureGate:
        for gate in FEATURE_GATES:
            if gate.id == request.id:
                return gate
        raise NotFound(f"feature gate {request.id[:63]!r} does not exist")

    async def GetSettings(self, request: Any, context: Any) -> management_pb2.Settings:
        stored = await self._devops.call(self._devops.tenancy.GetSettings, EMPTY)
        return json_format.Parse(stored.json, management_pb2.Settings(), ignore_unknown_fields=True)

    async def UpdateSettings(
        self, request: management_pb2.UpdateSettingsRequest, context: Any
    ) -> management_pb2.Settings:
        document = json_format.MessageToDict(request.settings)
        stored = await self._devops.call(
            self._devops.tenancy.UpdateSettings, sdk.Settings(json=json.dumps(document))
        )
        return json_format.Parse(stored.json, management_pb2.Settings(), ignore_unknown_fields=True)


class TenancyService(tenancy_pb2_grpc.TenancyServicer):
    def __init__(self, devops: DevopsClient, clusters: ClusterClients) -> None:
        self._devops = devops
        self._clusters = clusters

    async def CreateWorkspace(
        self, request: tenancy_pb2.CreateWorkspaceRequest, context: Any
    ) -> core_pb2.Workspace:
        created = await self._devops.call(
            self._devops.tenancy.CreateWorkspace, sdk.CreateWorkspaceRequest(alias=request.alias)
        )
        return core_pb2.Workspace(workspace_id=created.id, alias=created.alias)

    async def DeleteWorkspace(
        self, request: tenancy_pb2.DeleteWorkspaceRequest, context: Any
    ) -> empty_pb2.Empty:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        await self._devops.call(
            self._devops.tenancy.DeleteWorkspace, sdk.WorkspaceRef(id=workspace_id)
        )
        return EMPTY

    async def PutWorkspaceMember(
        self, request: tenancy_pb2.PutWorkspaceMemberRequest, context: Any
    ) -> empty_pb2.Empty:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        await self._devops.call(
            self._devops.tenancy.SetMember,
            sdk.SetMemberRequest(
                workspace_id=workspace_id, username=request.username, role=request.role
            ),
        )
        return EMPTY

    async def DeleteWorkspaceMember(
        self, request: tenancy_pb2.DeleteWorkspaceMemberRequest, context: Any
    ) -> empty_pb2.Empty:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        await self._devops.call(
            self._devops.tenancy.RemoveMember,
            sdk.RemoveMemberRequest(workspace_id=workspace_id, username=request.username),
        )
        return EMPTY

    async def RegisterCluster(
        self, request: tenancy_pb2.RegisterClusterRequest, context: Any
    ) -> tenancy_pb2.RegisterClusterResponse:
        created = await self._devops.call(
            self._devops.tenancy.RegisterCluster,
            sdk.RegisterClusterRequest(name=request.name, kubeconfig=request.kubeconfig),
        )
        return tenancy_pb2.RegisterClusterResponse(name=created.name)

    async def RemoveCluster(
        self, request: tenancy_pb2.RemoveClusterRequest, context: Any
    ) -> empty_pb2.Empty:
        cluster = names.dns_label("cluster", request.cluster)
        await self._devops.call(self._devops.tenancy.RemoveCluster, sdk.ClusterRef(name=cluster))
        await self._clusters.forget(cluster)
        return EMPTY

    async def BindNamespace(
        self, request: tenancy_pb2.BindNamespaceRequest, context: Any
    ) -> empty_pb2.Empty:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        cluster = names.dns_label("cluster", request.cluster)
        namespace = names.dns_label("namespace", request.namespace)
        core = await self._clusters.core(cluster)
        try:
            await self._clusters.call(
                cluster, lambda: core.read_namespace(namespace, _request_timeout=KUBE_TIMEOUT)
            )
        except NotFound:
            raise NotFound(
                f"namespace {namespace!r} does not exist in cluster {cluster!r}; create it first"
            ) from None
        await self._devops.call(
            self._devops.tenancy.BindNamespace,
            sdk.Binding(
                workspace_id=workspace_id, cluster=request.cluster, namespace=request.namespace
            ),
        )
        return EMPTY

    async def UnbindNamespace(
        self, request: tenancy_pb2.UnbindNamespaceRequest, context: Any
    ) -> empty_pb2.Empty:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        await self._devops.call(
            self._devops.tenancy.UnbindNamespace,
            sdk.Binding(
                workspace_id=workspace_id, cluster=request.cluster, namespace=request.namespace
            ),
        )
        return EMPTY
