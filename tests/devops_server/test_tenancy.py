"""devops-server's Tenancy SDK over a real gRPC connection and a real database."""

from __future__ import annotations

import asyncio

import asyncpg
import grpc
import pytest
from google.protobuf import empty_pb2
from workbench_sdk.devops.v1 import tenancy_pb2 as pb

from libs.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unauthenticated,
)
from libs.devops_client import DevopsClient
from services.devops_server.app import DevopsServer

KUBECONFIG = """
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://10.0.0.1:6443"}
users:
- name: u
  user: {token: "sekrit-token-value"}
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
"""


async def create(client: DevopsClient, alias: str) -> pb.Workspace:
    return await client.call(client.tenancy.CreateWorkspace, pb.CreateWorkspaceRequest(alias=alias))


async def test_created_workspace_can_be_read_back(client: DevopsClient) -> None:
    created = await create(client, "team-a")

    read = await client.call(client.tenancy.GetWorkspace, pb.WorkspaceRef(id=created.id))

    assert (read.id, read.alias) == (created.id, "team-a")
    assert read.created_at > 0


async def test_duplicate_alias_is_already_exists(client: DevopsClient) -> None:
    await create(client, "team-a")

    with pytest.raises(AlreadyExists, match="team-a"):
        await create(client, "team-a")


async def test_invalid_alias_is_rejected_and_nothing_written(client: DevopsClient) -> None:
    with pytest.raises(InvalidArgument, match="alias"):
        await create(client, "../etc")

    listed = await client.call(client.tenancy.ListWorkspaces, pb.ListWorkspacesRequest())
    assert listed.total == 0


async def test_calls_without_the_internal_token_are_refused(devops: DevopsServer) -> None:
    stranger = DevopsClient(f"127.0.0.1:{devops.grpc_port}", "wrong-token")
    try:
        with pytest.raises(Unauthenticated):
            await stranger.call(stranger.tenancy.ListWorkspaces, pb.ListWorkspacesRequest())
    finally:
        await stranger.close()


async def test_health_service_reports_serving(devops: DevopsServer) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    async with grpc.aio.insecure_channel(f"127.0.0.1:{devops.grpc_port}") as channel:
        answer = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="workbench.devops.v1.Tenancy")
        )
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


async def test_member_listing_filters_workspaces_and_roles(client: DevopsClient) -> None:
    a = await create(client, "team-a")
    await create(client, "team-b")
    await client.call(
        client.tenancy.SetMember,
        pb.SetMemberRequest(workspace_id=a.id, username="bob", role="workspace-viewer"),
    )

    mine = await client.call(client.tenancy.ListWorkspaces, pb.ListWorkspacesRequest(member="bob"))
    roles = await client.call(client.tenancy.GetUserRoles, pb.GetUserRolesRequest(username="bob"))

    assert [w.alias for w in mine.items] == ["team-a"]
    assert dict(roles.workspaces) == {a.id: "workspace-viewer"}


async def test_setting_a_member_again_changes_the_role(client: DevopsClient) -> None:
    a = await create(client, "team-a")
    for role in ("workspace-viewer", "workspace-admin"):
        await client.call(
            client.tenancy.SetMember,
            pb.SetMemberRequest(workspace_id=a.id, username="bob", role=role),
        )

    members = await client.call(client.tenancy.ListMembers, pb.WorkspaceRef(id=a.id))

    assert [(m.username, m.role) for m in members.items] == [("bob", "workspace-admin")]


async def test_unknown_role_is_invalid(client: DevopsClient) -> None:
    a = await create(client, "team-a")

    with pytest.raises(InvalidArgument, match="role"):
        await client.call(
            client.tenancy.SetMember,
            pb.SetMemberRequest(workspace_id=a.id, username="bob", role="owner"),
        )


async def test_kubeconfig_is_encrypted_at_rest(client: DevopsClient, devops: DevopsServer) -> None:
    await client.call(
        client.tenancy.RegisterCluster,
        pb.RegisterClusterRequest(name="member-1", kubeconfig=KUBECONFIG),
    )

    assert devops.settings.database_url
    connection = await asyncpg.connect(devops.settings.database_url)
    stored = await connection.fetchval("SELECT kubeconfig FROM clusters WHERE name = 'member-1'")
    await connection.close()
    access = await client.call(client.tenancy.GetClusterAccess, pb.ClusterRef(name="member-1"))

    assert b"sekrit-token-value" not in stored
    assert "sekrit-token-value" in access.kubeconfig
    assert access.server == "https://10.0.0.1:6443"


async def test_cluster_listing_never_carries_the_kubeconfig(client: DevopsClient) -> None:
    await client.call(
        client.tenancy.RegisterCluster,
        pb.RegisterClusterRequest(name="member-1", kubeconfig=KUBECONFIG),
    )

    listed = await client.call(client.tenancy.ListClusters, pb.ListClustersRequest())

    assert "sekrit" not in str(listed)
    assert [(c.name, c.server) for c in listed.items] == [("member-1", "https://10.0.0.1:6443")]


async def test_kubeconfig_without_a_server_is_invalid(client: DevopsClient) -> None:
    with pytest.raises(InvalidArgument, match="kubeconfig"):
        await client.call(
            client.tenancy.RegisterCluster,
            pb.RegisterClusterRequest(name="member-1", kubeconfig="clusters: []"),
        )


async def test_namespace_bound_elsewhere_cannot_be_bound_again(client: DevopsClient) -> None:
    a = await create(client, "team-a")
    b = await create(client, "team-b")
    await client.call(
        client.tenancy.RegisterCluster,
        pb.RegisterClusterRequest(name="member-1", kubeconfig=KUBECONFIG),
    )
    await client.call(
        client.tenancy.BindNamespace,
        pb.Binding(workspace_id=a.id, cluster="member-1", namespace="dev"),
    )

    with pytest.raises(FailedPrecondition, match="another workspace"):
        await client.call(
            client.tenancy.BindNamespace,
            pb.Binding(workspace_id=b.id, cluster="member-1", namespace="dev"),
        )


async def test_deleting_a_workspace_removes_its_bindings_and_members(client: DevopsClient) -> None:
    a = await create(client, "team-a")
    await client.call(
        client.tenancy.RegisterCluster,
        pb.RegisterClusterRequest(name="member-1", kubeconfig=KUBECONFIG),
    )
    await client.call(
        client.tenancy.BindNamespace,
        pb.Binding(workspace_id=a.id, cluster="member-1", namespace="dev"),
    )
    await client.call(
        client.tenancy.SetMember,
        pb.SetMemberRequest(workspace_id=a.id, username="bob", role="workspace-viewer"),
    )

    await client.call(client.tenancy.DeleteWorkspace, pb.WorkspaceRef(id=a.id))

    bindings = await client.call(client.tenancy.ListBindings, pb.ListBindingsRequest())
    roles = await client.call(client.tenancy.GetUserRoles, pb.GetUserRolesRequest(username="bob"))
    assert list(bindings.items) == []
    assert dict(roles.workspaces) == {}
    with pytest.raises(NotFound):
        await client.call(client.tenancy.GetWorkspace, pb.WorkspaceRef(id=a.id))


async def test_settings_round_trip(client: DevopsClient) -> None:
    before = await client.call(client.tenancy.GetSettings, empty_pb2.Empty())
    await client.call(client.tenancy.UpdateSettings, pb.Settings(json='{"name": "x"}'))
    after = await client.call(client.tenancy.GetSettings, empty_pb2.Empty())

    assert '"workbench"' in before.json
    assert after.json == '{"name": "x"}'


async def test_watch_replays_history_then_streams_new_changes(client: DevopsClient) -> None:
    first = await create(client, "team-a")
    seen: list[pb.Change] = []

    async def follow() -> None:
        async for change in client.stream(
            client.tenancy.WatchChanges, pb.WatchChangesRequest(after_revision=0)
        ):
            seen.append(change)
            if len(seen) == 2:
                return

    watcher = asyncio.create_task(follow())
    await asyncio.sleep(0.2)
    second = await create(client, "team-b")
    await asyncio.wait_for(watcher, 10)

    assert [(c.kind, c.key, c.action) for c in seen] == [
        ("workspace", str(first.id), "created"),
        ("workspace", str(second.id), "created"),
    ]
    assert seen[0].revision < seen[1].revision


async def test_watch_resumes_after_the_given_revision(client: DevopsClient) -> None:
    await create(client, "team-a")
    await create(client, "team-b")
    stream = client.stream(client.tenancy.WatchChanges, pb.WatchChangesRequest(after_revision=0))
    first = await anext(stream)
    await stream.aclose()

    resumed = client.stream(
        client.tenancy.WatchChanges, pb.WatchChangesRequest(after_revision=first.revision)
    )
    following = await asyncio.wait_for(anext(resumed), 10)
    await resumed.aclose()

    assert following.key != first.key
    assert following.revision > first.revision


async def test_a_watch_after_the_revision_of_a_listing_streams_only_what_came_later(
    client: DevopsClient,
) -> None:
    await create(client, "team-a")
    listed = await client.call(client.tenancy.ListWorkspaces, pb.ListWorkspacesRequest())
    later = await create(client, "team-b")

    stream = client.stream(
        client.tenancy.WatchChanges, pb.WatchChangesRequest(after_revision=listed.revision)
    )
    following = await asyncio.wait_for(anext(stream), 10)
    await stream.aclose()

    assert listed.revision > 0
    assert (following.key, following.action) == (str(later.id), "created")


async def test_settings_with_a_nul_character_are_invalid(client: DevopsClient) -> None:
    with pytest.raises(InvalidArgument, match="NUL"):
        await client.call(client.tenancy.UpdateSettings, pb.Settings(json='{"name": "a\\u0000"}'))
