"""The tenancy slice end to end: REST and gRPC through apiserver into devops-server."""

from __future__ import annotations

import grpc
import pytest
from amamba.core.v1alpha1 import core_pb2, core_pb2_grpc, tenancy_pb2, tenancy_pb2_grpc

from tests.apiserver.conftest import Stack

MGMT = "/apis/amamba.io/v1alpha1/management"


async def make_workspace(stack: Stack, alias: str) -> int:
    answer = await stack.http.post(
        f"{MGMT}/workspaces", json={"alias": alias}, headers=stack.auth("admin")
    )
    assert answer.status_code == 200, answer.text
    workspace_id: int = answer.json()["workspaceId"]
    return workspace_id


async def test_admin_creates_a_workspace_over_rest(stack: Stack) -> None:
    answer = await stack.http.post(
        f"{MGMT}/workspaces", json={"alias": "team-a"}, headers=stack.auth("admin")
    )

    assert answer.status_code == 200
    assert answer.json() == {"workspaceId": 1, "alias": "team-a"}


async def test_request_without_a_token_is_401(stack: Stack) -> None:
    answer = await stack.http.get(f"{MGMT}/workspaces")

    assert answer.status_code == 401
    assert answer.json()["code"] == 16
    assert "bearer" in answer.json()["message"].lower()


async def test_non_admin_cannot_create_a_workspace(stack: Stack) -> None:
    answer = await stack.http.post(
        f"{MGMT}/workspaces", json={"alias": "team-a"}, headers=stack.auth("bob")
    )

    assert answer.status_code == 403
    assert answer.json()["code"] == 7


async def test_member_sees_only_their_workspaces(stack: Stack) -> None:
    first = await make_workspace(stack, "team-a")
    await make_workspace(stack, "team-b")
    granted = await stack.http.put(
        f"{MGMT}/workspaces/{first}/members/bob",
        json={"role": "workspace-viewer"},
        headers=stack.auth("admin"),
    )
    assert granted.status_code == 200, granted.text

    answer = await stack.http.get(f"{MGMT}/workspaces", headers=stack.auth("bob"))

    assert answer.status_code == 200
    body = answer.json()
    assert body["items"] == [{"workspaceId": first, "alias": "team-a"}]
    assert body["pagination"]["total"] == 1


async def test_workspace_permissions_follow_the_role(stack: Stack) -> None:
    first = await make_workspace(stack, "team-a")
    await stack.http.put(
        f"{MGMT}/workspaces/{first}/members/bob",
        json={"role": "workspace-viewer"},
        headers=stack.auth("admin"),
    )

    viewer = await stack.http.get(
        f"{MGMT}/workspaces/{first}/permissions", headers=stack.auth("bob")
    )
    stranger = await stack.http.get(
        f"{MGMT}/workspaces/{first}/permissions", headers=stack.auth("carol")
    )

    assert "pipeline.list" in viewer.json()["permissions"]
    assert "pipeline.create" not in viewer.json()["permissions"]
    assert stranger.json()["permissions"] == []


async def test_stranger_is_refused_a_workspace_and_learns_nothing(stack: Stack) -> None:
    existing = await make_workspace(stack, "team-a")

    real = await stack.http.get(
        f"/apis/amamba.io/v1alpha1/workspaces/{existing}/namespaces", headers=stack.auth("eve")
    )
    missing = await stack.http.get(
        "/apis/amamba.io/v1alpha1/workspaces/999/namespaces", headers=stack.auth("eve")
    )

    assert real.status_code == missing.status_code == 403
    assert real.json() == missing.json()


async def test_unknown_field_in_body_is_400_and_nothing_is_written(stack: Stack) -> None:
    answer = await stack.http.post(
        f"{MGMT}/workspaces", json={"alias": "team-a", "owner": "x"}, headers=stack.auth("admin")
    )
    listed = await stack.http.get(f"{MGMT}/workspaces", headers=stack.auth("admin"))

    assert answer.status_code == 400
    assert "owner" in answer.json()["message"]
    assert listed.json()["items"] == []


async def test_invalid_alias_is_400_naming_the_field(stack: Stack) -> None:
    answer = await stack.http.post(
        f"{MGMT}/workspaces", json={"alias": "a/b"}, headers=stack.auth("admin")
    )

    assert answer.status_code == 400
    assert answer.json()["message"].startswith("alias")


async def test_grpc_and_rest_agree(stack: Stack) -> None:
    created = await make_workspace(stack, "team-a")
    metadata = (("authorization", f"Bearer {stack.token('admin')}"),)

    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        core = core_pb2_grpc.CoreStub(channel)
        listed = await core.ListVisibleWorkspaces(
            core_pb2.ListVisibleWorkspacesRequest(), metadata=metadata
        )

    assert [(w.workspace_id, w.alias) for w in listed.items] == [(created, "team-a")]


async def test_grpc_without_token_is_unauthenticated(stack: Stack) -> None:
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        tenancy = tenancy_pb2_grpc.TenancyStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await tenancy.CreateWorkspace(tenancy_pb2.CreateWorkspaceRequest(alias="x"))

    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_feature_gates_are_listed_for_any_signed_in_user(stack: Stack) -> None:
    answer = await stack.http.get(f"{MGMT}/feature-gates", headers=stack.auth("bob"))
    one = await stack.http.get(f"{MGMT}/feature-gates/pipeline", headers=stack.auth("bob"))
    missing = await stack.http.get(f"{MGMT}/feature-gates/nope", headers=stack.auth("bob"))

    assert {g["id"] for g in answer.json()["items"]} >= {"pipeline"}
    assert one.json()["enabled"] is True
    assert missing.status_code == 404


async def test_settings_update_is_admin_only_and_persists(stack: Stack) -> None:
    body = {"settings": {"name": "acme", "cache": {"enabled": True}}}
    refused = await stack.http.put(f"{MGMT}/settings", json=body, headers=stack.auth("bob"))
    updated = await stack.http.put(f"{MGMT}/settings", json=body, headers=stack.auth("admin"))
    read = await stack.http.get(f"{MGMT}/settings", headers=stack.auth("bob"))

    assert refused.status_code == 403
    assert updated.status_code == 200, updated.text
    assert read.json()["name"] == "acme"
    assert read.json()["cache"]["enabled"] is True
