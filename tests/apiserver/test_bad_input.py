"""Bad input gets a 400 with the error body naming what is wrong, and changes nothing."""

from __future__ import annotations

import pytest
from workbench_sdk.devops.v1 import tenancy_pb2 as sdk

from tests.apiserver.conftest import Stack

MGMT = "/apis/amamba.io/v1alpha1/management"


async def assert_nothing_written(stack: Stack) -> None:
    listed = await stack.http.get(f"{MGMT}/workspaces", headers=stack.auth("admin"))
    assert listed.json()["items"] == []


def assert_error(answer: object, status: int, *words: str) -> None:
    import httpx

    assert isinstance(answer, httpx.Response)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"code", "message", "details"}
    assert body["details"] == []
    for word in words:
        assert word in body["message"], body["message"]


async def test_malformed_json_is_400(stack: Stack) -> None:
    answer = await stack.http.post(
        f"{MGMT}/workspaces",
        content=b'{"alias": ',
        headers={**stack.auth("admin"), "Content-Type": "application/json"},
    )

    assert_error(answer, 400)
    await assert_nothing_written(stack)


async def test_wrong_type_is_400_naming_the_field(stack: Stack) -> None:
    answer = await stack.http.post(
        f"{MGMT}/workspaces", json={"alias": ["team-a"]}, headers=stack.auth("admin")
    )

    assert_error(answer, 400, "alias")
    await assert_nothing_written(stack)


async def test_body_that_is_not_an_object_is_400(stack: Stack) -> None:
    answer = await stack.http.post(f"{MGMT}/workspaces", json=[1], headers=stack.auth("admin"))

    assert_error(answer, 400)


async def test_proto_field_names_are_accepted_too(stack: Stack) -> None:
    made = await stack.http.post(
        f"{MGMT}/workspaces", json={"alias": "team-a"}, headers=stack.auth("admin")
    )
    quota = await stack.http.get(
        f"/apis/amamba.io/v1alpha1/workspaces/{made.json()['workspaceId']}/namespaces",
        params={"page_size": "5"},
        headers=stack.auth("admin"),
    )

    assert quota.status_code == 200
    assert quota.json()["pagination"]["pageSize"] == 5


async def test_unknown_enum_name_in_query_is_400(stack: Stack) -> None:
    made = await stack.http.post(
        f"{MGMT}/workspaces", json={"alias": "team-a"}, headers=stack.auth("admin")
    )

    answer = await stack.http.get(
        f"/apis/amamba.io/v1alpha1/workspaces/{made.json()['workspaceId']}/clusters",
        params={"status": "ON_FIRE"},
        headers=stack.auth("admin"),
    )

    assert_error(answer, 400, "status")


async def test_non_numeric_workspace_id_is_400(stack: Stack) -> None:
    answer = await stack.http.get(
        "/apis/amamba.io/v1alpha1/workspaces/abc/namespaces", headers=stack.auth("admin")
    )

    assert_error(answer, 400, "workspaceId")


@pytest.mark.parametrize(
    "raw",
    [
        "/apis/amamba.io/v1alpha1/management/clusters/a%2Fb/namespacenames",
        "/apis/amamba.io/v1alpha1/management/clusters/%2E%2E/namespacenames",
        "/apis/amamba.io/v1alpha1/management/clusters/a%00b/namespacenames",
        "/apis/amamba.io/v1alpha1/management/clusters/" + "a" * 2000 + "/namespacenames",
    ],
    ids=["slash", "dot-dot", "control-character", "over-long"],
)
async def test_hostile_path_values_are_400(stack: Stack, raw: str) -> None:
    answer = await stack.http.get(raw, headers=stack.auth("admin"))

    assert_error(answer, 400)


async def test_oversized_body_is_refused_before_the_handler(stack: Stack) -> None:
    huge = {"alias": "x" * (stack.settings.max_body_bytes + 10)}

    answer = await stack.http.post(f"{MGMT}/workspaces", json=huge, headers=stack.auth("admin"))

    assert_error(answer, 400, str(stack.settings.max_body_bytes))
    assert answer.json()["code"] == 3
    await assert_nothing_written(stack)


async def test_over_long_alias_is_400(stack: Stack) -> None:
    answer = await stack.http.post(
        f"{MGMT}/workspaces", json={"alias": "a" * 64}, headers=stack.auth("admin")
    )

    assert_error(answer, 400, "alias", "63")
    await assert_nothing_written(stack)


async def test_unknown_path_is_404_with_the_error_body(stack: Stack) -> None:
    answer = await stack.http.get("/apis/amamba.io/v1alpha1/nothing", headers=stack.auth("admin"))

    assert_error(answer, 404)


async def test_wrong_verb_on_a_known_path_is_not_a_500(stack: Stack) -> None:
    answer = await stack.http.patch(f"{MGMT}/workspaces", headers=stack.auth("admin"))

    assert answer.status_code in (405, 501)
    assert answer.json()["code"] == 12


async def workspace(stack: Stack) -> int:
    made = await stack.http.post(
        f"{MGMT}/workspaces", json={"alias": "team-a"}, headers=stack.auth("admin")
    )
    assert made.status_code == 200, made.text
    workspace_id: int = made.json()["workspaceId"]
    return workspace_id


async def test_a_workspace_without_alias_is_400_naming_it(stack: Stack) -> None:
    answer = await stack.http.post(f"{MGMT}/workspaces", json={}, headers=stack.auth("admin"))

    assert_error(answer, 400, "alias")
    await assert_nothing_written(stack)


async def test_a_member_without_role_is_400_naming_it(stack: Stack) -> None:
    workspace_id = await workspace(stack)

    answer = await stack.http.put(
        f"{MGMT}/workspaces/{workspace_id}/members/bob", json={}, headers=stack.auth("admin")
    )

    assert_error(answer, 400, "role")
    bob_sees = await stack.http.get(f"{MGMT}/workspaces", headers=stack.auth("bob"))
    assert bob_sees.json()["items"] == []


async def test_a_cluster_without_kubeconfig_is_400_naming_it(stack: Stack) -> None:
    answer = await stack.http.post(
        f"{MGMT}/clusters", json={"name": "member-1"}, headers=stack.auth("admin")
    )

    assert_error(answer, 400, "kubeconfig")
    clusters = await stack.http.get(f"{MGMT}/clusternames", headers=stack.auth("admin"))
    assert clusters.json().get("items", []) == []


async def test_a_binding_without_namespace_is_400_naming_it(stack: Stack) -> None:
    workspace_id = await workspace(stack)

    answer = await stack.http.post(
        f"{MGMT}/workspaces/{workspace_id}/bindings",
        json={"cluster": "member-1"},
        headers=stack.auth("admin"),
    )

    assert_error(answer, 400, "namespace")
    bound = await stack.http.get(
        f"/apis/amamba.io/v1alpha1/workspaces/{workspace_id}/namespaces",
        headers=stack.auth("admin"),
    )
    assert bound.json().get("items", []) == []


@pytest.mark.parametrize(
    "username",
    ["a%2Fb", "%2E%2E", "a%00b", "a%0Ab", "a" * 2000],
    ids=["slash", "dot-dot", "nul", "newline", "over-long"],
)
async def test_hostile_path_values_on_a_write_are_400_naming_the_field(
    stack: Stack, username: str
) -> None:
    workspace_id = await workspace(stack)

    answer = await stack.http.put(
        f"{MGMT}/workspaces/{workspace_id}/members/{username}",
        json={"role": "workspace-admin"},
        headers=stack.auth("admin"),
    )

    assert_error(answer, 400, "username")
    devops = stack.api.devops
    members = await devops.call(devops.tenancy.ListMembers, sdk.WorkspaceRef(id=workspace_id))
    assert list(members.items) == []


async def test_unknown_enum_name_in_a_body_is_400_naming_the_field(stack: Stack) -> None:
    workspace_id = await workspace(stack)
    pipelines = f"/apis/pipeline.amamba.io/v1alpha1/workspaces/{workspace_id}/pipelines"

    answer = await stack.http.post(
        pipelines, json={"name": "hello", "type": "ON_FIRE"}, headers=stack.auth("admin")
    )

    assert_error(answer, 400, "type", "ON_FIRE")
    listed = await stack.http.get(pipelines, headers=stack.auth("admin"))
    assert listed.status_code == 200, listed.text
    assert listed.json().get("items", []) == []


@pytest.mark.parametrize("suffix", ["", "/junit_summary", "/nodes", "/log", ":watch"])
async def test_a_run_number_beyond_32_bits_is_400_not_500(stack: Stack, suffix: str) -> None:
    workspace_id = await workspace(stack)
    run = f"/apis/pipeline.amamba.io/v1alpha1/workspaces/{workspace_id}/pipelines/hello/runs"

    answer = await stack.http.get(f"{run}/{2**31}{suffix}", headers=stack.auth("admin"))

    assert answer.status_code == 400, answer.text
    error = answer.json().get("error", answer.json())  # a stream's error is a chunk
    assert "runId" in error["message"] and "32-bit" in error["message"]


async def test_a_nul_character_the_database_cannot_hold_is_400_not_500(stack: Stack) -> None:
    workspace_id = await workspace(stack)
    pipelines = f"/apis/pipeline.amamba.io/v1alpha1/workspaces/{workspace_id}/pipelines"

    by_alias = await stack.http.get(
        f"{MGMT}/workspaces", params={"name": "a\x00b"}, headers=stack.auth("admin")
    )
    by_name = await stack.http.get(
        pipelines, params={"searchName": "a\x00b"}, headers=stack.auth("admin")
    )

    assert_error(by_alias, 400, "cannot be stored", "0x00")
    assert_error(by_name, 400, "cannot be stored", "0x00")
