"""Clusters, bindings and namespaces through apiserver, against a Kubernetes stand-in."""

from __future__ import annotations

from typing import Any

import yaml

from tests.apiserver.conftest import Stack

MGMT = "/apis/amamba.io/v1alpha1/management"
WS = "/apis/amamba.io/v1alpha1/workspaces"


async def register(stack: Stack, cluster: Any, name: str = "member-1") -> None:
    answer = await stack.http.post(
        f"{MGMT}/clusters",
        json={"name": name, "kubeconfig": yaml.safe_dump(cluster.kubeconfig())},
        headers=stack.auth("admin"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"name": name}


async def workspace_with_member(stack: Stack, user: str, role: str) -> int:
    made = await stack.http.post(
        f"{MGMT}/workspaces", json={"alias": "team-a"}, headers=stack.auth("admin")
    )
    workspace_id: int = made.json()["workspaceId"]
    granted = await stack.http.put(
        f"{MGMT}/workspaces/{workspace_id}/members/{user}",
        json={"role": role},
        headers=stack.auth("admin"),
    )
    assert granted.status_code == 200
    return workspace_id


async def test_cluster_names_and_namespace_names_come_from_the_cluster(
    stack: Stack, member_cluster: Any
) -> None:
    await register(stack, member_cluster)

    clusters = await stack.http.get(f"{MGMT}/clusternames", headers=stack.auth("admin"))
    spaces = await stack.http.get(
        f"{MGMT}/clusters/member-1/namespacenames", headers=stack.auth("admin")
    )

    assert clusters.json() == {"items": ["member-1"]}
    assert {"default", "kube-system"} <= set(spaces.json()["items"])


async def test_registering_a_cluster_never_echoes_the_kubeconfig(
    stack: Stack, member_cluster: Any
) -> None:
    token = member_cluster.kubeconfig()["users"][0]["user"]["token"]
    await register(stack, member_cluster)

    listed = await stack.http.get(f"{MGMT}/clusternames", headers=stack.auth("admin"))

    assert token not in listed.text


async def test_workspace_admin_creates_a_namespace_in_a_member_cluster(
    stack: Stack, member_cluster: Any
) -> None:
    await register(stack, member_cluster)
    workspace_id = await workspace_with_member(stack, "ann", "workspace-admin")

    created = await stack.http.post(
        f"{WS}/{workspace_id}/clusters/member-1/namespaces",
        json={"name": "team-a-dev", "labels": {"tier": "dev"}},
        headers=stack.auth("ann"),
    )
    bound = await stack.http.get(f"{WS}/{workspace_id}/namespaces", headers=stack.auth("ann"))

    assert created.status_code == 200, created.text
    assert created.json()["workspaceId"] == str(workspace_id)
    in_cluster = member_cluster.get_object("v1", "Namespace", "team-a-dev")
    assert in_cluster["metadata"]["labels"]["workbench.io/workspace"] == str(workspace_id)
    assert [(n["cluster"], n["name"]) for n in bound.json()["items"]] == [
        ("member-1", "team-a-dev")
    ]


async def test_viewer_cannot_create_a_namespace(stack: Stack, member_cluster: Any) -> None:
    await register(stack, member_cluster)
    workspace_id = await workspace_with_member(stack, "vic", "workspace-viewer")

    answer = await stack.http.post(
        f"{WS}/{workspace_id}/clusters/member-1/namespaces",
        json={"name": "nope"},
        headers=stack.auth("vic"),
    )

    assert answer.status_code == 403
    assert member_cluster.get_object("v1", "Namespace", "nope") is None


async def test_deleting_a_bound_namespace_removes_it_and_the_binding(
    stack: Stack, member_cluster: Any
) -> None:
    await register(stack, member_cluster)
    workspace_id = await workspace_with_member(stack, "ann", "workspace-admin")
    await stack.http.post(
        f"{WS}/{workspace_id}/clusters/member-1/namespaces",
        json={"name": "team-a-dev"},
        headers=stack.auth("ann"),
    )

    deleted = await stack.http.delete(
        f"{WS}/{workspace_id}/clusters/member-1/namespaces/team-a-dev", headers=stack.auth("ann")
    )
    bound = await stack.http.get(f"{WS}/{workspace_id}/namespaces", headers=stack.auth("ann"))

    assert deleted.status_code == 200
    assert bound.json()["items"] == []
    remaining = member_cluster.get_object("v1", "Namespace", "team-a-dev")
    assert remaining is None or remaining["metadata"].get("deletionTimestamp")


async def test_binding_an_existing_namespace_shows_it_as_a_deploy_target(
    stack: Stack, member_cluster: Any
) -> None:
    await register(stack, member_cluster)
    workspace_id = await workspace_with_member(stack, "vic", "workspace-viewer")
    member_cluster.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})

    bound = await stack.http.post(
        f"{MGMT}/workspaces/{workspace_id}/bindings",
        json={"cluster": "member-1", "namespace": "shop"},
        headers=stack.auth("admin"),
    )
    targets = await stack.http.get(
        f"{MGMT}/workspaces/{workspace_id}/deploytargets", headers=stack.auth("vic")
    )
    clusters = await stack.http.get(f"{WS}/{workspace_id}/clusters", headers=stack.auth("vic"))

    assert bound.status_code == 200, bound.text
    assert targets.json()["items"][0]["cluster"] == "member-1"
    assert targets.json()["items"][0]["namespaces"] == ["shop"]
    assert [c["name"] for c in clusters.json()["items"]] == ["member-1"]


async def test_binding_a_missing_namespace_is_404(stack: Stack, member_cluster: Any) -> None:
    await register(stack, member_cluster)
    workspace_id = await workspace_with_member(stack, "vic", "workspace-viewer")

    answer = await stack.http.post(
        f"{MGMT}/workspaces/{workspace_id}/bindings",
        json={"cluster": "member-1", "namespace": "ghost"},
        headers=stack.auth("admin"),
    )

    assert answer.status_code == 404
    assert "ghost" in answer.json()["message"]


async def test_unreachable_cluster_is_503(stack: Stack, member_cluster: Any) -> None:
    await register(stack, member_cluster)
    await member_cluster.stop()

    answer = await stack.http.get(
        f"{MGMT}/clusters/member-1/namespacenames", headers=stack.auth("admin")
    )

    assert answer.status_code == 503
    assert "member-1" in answer.json()["message"]


async def test_unbinding_hides_the_namespace_from_the_workspace(
    stack: Stack, member_cluster: Any
) -> None:
    await register(stack, member_cluster)
    workspace_id = await workspace_with_member(stack, "vic", "workspace-viewer")
    member_cluster.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    await stack.http.post(
        f"{MGMT}/workspaces/{workspace_id}/bindings",
        json={"cluster": "member-1", "namespace": "shop"},
        headers=stack.auth("admin"),
    )

    removed = await stack.http.delete(
        f"{MGMT}/workspaces/{workspace_id}/bindings/member-1/shop", headers=stack.auth("admin")
    )
    bound = await stack.http.get(f"{WS}/{workspace_id}/namespaces", headers=stack.auth("vic"))

    assert removed.status_code == 200
    assert bound.json()["items"] == []


async def test_cluster_status_reflects_whether_it_answers(
    stack: Stack, member_cluster: Any
) -> None:
    await register(stack, member_cluster)
    workspace_id = await workspace_with_member(stack, "vic", "workspace-viewer")
    member_cluster.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    await stack.http.post(
        f"{MGMT}/workspaces/{workspace_id}/bindings",
        json={"cluster": "member-1", "namespace": "shop"},
        headers=stack.auth("admin"),
    )

    running = await stack.http.get(f"{WS}/{workspace_id}/clusters", headers=stack.auth("vic"))
    await member_cluster.stop()
    await stack.api.clusters.forget("member-1")
    stopped = await stack.http.get(
        f"{MGMT}/workspaces/{workspace_id}/deploytargets", headers=stack.auth("vic")
    )

    assert running.json()["items"][0]["status"] == "CLUSTER_STATUS_RUNNING"
    assert stopped.json()["items"][0]["status"] == "CLUSTER_STATUS_NOT_RUNNING"
