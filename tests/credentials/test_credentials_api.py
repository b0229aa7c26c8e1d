"""Credentials over REST: each type stored as a Secret in the control plane, read back without
its secret values, listed per workspace, updated and deleted."""

from __future__ import annotations

import logging
from typing import Any

import grpc
import pytest
from amamba.credential.v1alpha1 import credentials_pb2, credentials_pb2_grpc

from tests.apiserver.conftest import Stack
from tests.credentials.conftest import (
    CREDENTIALS,
    KUBECONFIG,
    NAMESPACE,
    PASSPHRASE,
    PASSWORD,
    PRIVATE_KEY,
    SECRETS,
    TOKEN,
    body,
    decoded,
    workspace,
)
from tests.pipelines.conftest import conforms

EXPECTED_PARTS: dict[str, dict[str, Any]] = {
    "USERNAME_PASSWORD": {"basicCredential": {"username": "robot", "password": ""}},
    "SECRET_TEXT": {"secretTextCredential": {"secret": ""}},
    "SSH_KEY": {"sshCredential": {"username": "git", "privateKey": "", "passphrase": ""}},
    "KUBECONFIG": {"kubeconfigCredential": {"content": ""}},
}
EXPECTED_DATA: dict[str, tuple[str, dict[str, str]]] = {
    "USERNAME_PASSWORD": (
        "kubernetes.io/basic-auth",
        {"username": "robot", "password": PASSWORD},
    ),
    "SECRET_TEXT": ("Opaque", {"secret": TOKEN}),
    "SSH_KEY": (
        "kubernetes.io/ssh-auth",
        {"username": "git", "ssh-privatekey": PRIVATE_KEY, "passphrase": PASSPHRASE},
    ),
    "KUBECONFIG": ("Opaque", {"kubeconfig": KUBECONFIG}),
}
TYPES = list(EXPECTED_PARTS)


def assert_no_secret(text: str) -> None:
    for value in SECRETS:
        assert value not in text


@pytest.mark.parametrize("kind", TYPES)
async def test_a_created_credential_reads_back_without_its_secret(
    stack: Stack, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    workspace_id = await workspace(stack, "team-a", {"ann": "workspace-editor"})
    url = CREDENTIALS.format(workspace_id)

    created = await stack.http.post(
        url, json=body(kind, "deploy-key", "for deploys"), headers=stack.auth("ann")
    )
    got = await stack.http.get(f"{url}/deploy-key", headers=stack.auth("ann"))
    listed = await stack.http.get(url, headers=stack.auth("ann"))

    assert created.status_code == 200, created.text
    assert got.status_code == 200, got.text
    answer = got.json()
    assert created.json() == answer
    conforms(answer, "v1alpha1Credential")
    conforms(listed.json(), "v1alpha1ListCredentialsResponse")
    info = answer.pop("baseInfo")
    assert info["type"] == kind
    assert info["name"] == "deploy-key"
    assert info["description"] == "for deploys"
    assert info["workspaceId"] == str(workspace_id)
    assert int(info["createdAt"]) > 0 and int(info["updatedAt"]) >= int(info["createdAt"]) - 1000
    assert answer == EXPECTED_PARTS[kind]
    assert listed.json()["items"] == [got.json()]
    assert "credential deploy-key of workspace" in caplog.text  # the log was captured
    for text in (created.text, got.text, listed.text, caplog.text):
        assert_no_secret(text)


@pytest.mark.parametrize("kind", TYPES)
async def test_the_secret_is_stored_in_the_control_plane_with_labels_and_data(
    stack: Stack, control_plane: Any, kind: str
) -> None:
    workspace_id = await workspace(stack, "team-a", {})

    created = await stack.http.post(
        CREDENTIALS.format(workspace_id),
        json=body(kind, "deploy-key", "for deploys"),
        headers=stack.auth("admin"),
    )

    assert created.status_code == 200, created.text
    secret = control_plane.get_object(
        "v1", "Secret", f"wb-credential-{workspace_id}-deploy-key", NAMESPACE
    )
    assert secret is not None
    assert secret["metadata"]["labels"] == {
        "workbench.io/workspace": str(workspace_id),
        "workbench.io/credential": "deploy-key",
        "app.kubernetes.io/managed-by": "workbench",
    }
    annotations = secret["metadata"]["annotations"]
    assert annotations["workbench.io/credential-type"] == kind
    assert annotations["workbench.io/description"] == "for deploys"
    secret_type, data = EXPECTED_DATA[kind]
    assert secret["type"] == secret_type
    assert decoded(secret) == data


async def test_the_namespace_is_created_when_missing(stack: Stack, control_plane: Any) -> None:
    workspace_id = await workspace(stack, "team-a", {})
    assert control_plane.get_object("v1", "Namespace", NAMESPACE) is None

    await stack.http.post(
        CREDENTIALS.format(workspace_id),
        json=body("SECRET_TEXT", "token"),
        headers=stack.auth("admin"),
    )

    assert control_plane.get_object("v1", "Namespace", NAMESPACE) is not None


async def test_a_list_holds_only_the_workspaces_own_credentials(stack: Stack) -> None:
    first = await workspace(stack, "team-a", {})
    second = await workspace(stack, "team-b", {})
    for name in ("b-token", "a-token"):
        await stack.http.post(
            CREDENTIALS.format(first), json=body("SECRET_TEXT", name), headers=stack.auth("admin")
        )
    await stack.http.post(
        CREDENTIALS.format(second), json=body("SECRET_TEXT", "other"), headers=stack.auth("admin")
    )

    listed = await stack.http.get(CREDENTIALS.format(first), headers=stack.auth("admin"))

    assert listed.status_code == 200, listed.text
    assert [c["baseInfo"]["name"] for c in listed.json()["items"]] == ["a-token", "b-token"]
    assert listed.json()["pagination"] == {"page": 1, "pageSize": 2, "total": 2, "pages": 1}


async def test_a_list_filters_by_name_and_pages(stack: Stack) -> None:
    workspace_id = await workspace(stack, "team-a", {})
    url = CREDENTIALS.format(workspace_id)
    for name in ("git-a", "git-b", "git-c", "registry"):
        await stack.http.post(url, json=body("SECRET_TEXT", name), headers=stack.auth("admin"))

    page = await stack.http.get(
        url, params={"name": "git", "page": 2, "pageSize": 2}, headers=stack.auth("admin")
    )

    assert [c["baseInfo"]["name"] for c in page.json()["items"]] == ["git-c"]
    assert page.json()["pagination"] == {"page": 2, "pageSize": 2, "total": 3, "pages": 2}


async def test_an_update_without_secret_values_keeps_them(stack: Stack, control_plane: Any) -> None:
    workspace_id = await workspace(stack, "team-a", {})
    url = CREDENTIALS.format(workspace_id)
    await stack.http.post(url, json=body("SSH_KEY", "git"), headers=stack.auth("admin"))

    updated = await stack.http.put(
        f"{url}/git",
        json={"description": "new words", "sshCredential": {"username": "deploy"}},
        headers=stack.auth("admin"),
    )

    assert updated.status_code == 200, updated.text
    conforms(updated.json(), "v1alpha1Credential")
    assert updated.json()["baseInfo"]["description"] == "new words"
    assert updated.json()["sshCredential"]["username"] == "deploy"
    secret = control_plane.get_object(
        "v1", "Secret", f"wb-credential-{workspace_id}-git", NAMESPACE
    )
    assert decoded(secret) == {
        "username": "deploy",
        "ssh-privatekey": PRIVATE_KEY,
        "passphrase": PASSPHRASE,
    }


async def test_an_update_with_a_secret_value_replaces_it(stack: Stack, control_plane: Any) -> None:
    workspace_id = await workspace(stack, "team-a", {})
    url = CREDENTIALS.format(workspace_id)
    await stack.http.post(
        url, json=body("USERNAME_PASSWORD", "registry"), headers=stack.auth("admin")
    )

    updated = await stack.http.put(
        f"{url}/registry",
        json={"type": "USERNAME_PASSWORD", "basicCredential": {"password": "rotated-value"}},
        headers=stack.auth("admin"),
    )

    assert updated.status_code == 200, updated.text
    conforms(updated.json(), "v1alpha1Credential")
    assert "rotated-value" not in updated.text
    assert updated.json()["basicCredential"] == {"username": "robot", "password": ""}
    secret = control_plane.get_object(
        "v1", "Secret", f"wb-credential-{workspace_id}-registry", NAMESPACE
    )
    assert decoded(secret) == {"username": "robot", "password": "rotated-value"}


async def test_a_deleted_credential_is_gone_from_api_and_cluster(
    stack: Stack, control_plane: Any
) -> None:
    workspace_id = await workspace(stack, "team-a", {})
    url = CREDENTIALS.format(workspace_id)
    await stack.http.post(url, json=body("SECRET_TEXT", "token"), headers=stack.auth("admin"))

    deleted = await stack.http.delete(f"{url}/token", headers=stack.auth("admin"))
    got = await stack.http.get(f"{url}/token", headers=stack.auth("admin"))

    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {}
    assert got.status_code == 404
    name = f"wb-credential-{workspace_id}-token"
    assert control_plane.get_object("v1", "Secret", name, NAMESPACE) is None


async def test_grpc_reads_carry_no_secret_either(stack: Stack) -> None:
    workspace_id = await workspace(stack, "team-a", {})
    await stack.http.post(
        CREDENTIALS.format(workspace_id),
        json=body("USERNAME_PASSWORD", "registry"),
        headers=stack.auth("admin"),
    )

    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        got = await credentials_pb2_grpc.CredentialsStub(channel).GetCredential(
            credentials_pb2.GetCredentialRequest(
                workspace_id=str(workspace_id), credential_name="registry"
            ),
            metadata=[("authorization", f"Bearer {stack.token('admin')}")],
        )

    assert got.base_info.type == credentials_pb2.USERNAME_PASSWORD
    assert got.basic_credential == credentials_pb2.BasicCredential(username="robot")
    assert PASSWORD not in str(got)


async def test_a_list_sorts_by_name_in_the_direction_asked(stack: Stack) -> None:
    workspace_id = await workspace(stack, "team-a", {})
    url = CREDENTIALS.format(workspace_id)
    for name in ("b", "c", "a"):
        await stack.http.post(url, json=body("SECRET_TEXT", name), headers=stack.auth("admin"))

    listed = await stack.http.get(
        url, params={"sortBy": "FIELD_NAME", "sortDir": "DESC"}, headers=stack.auth("admin")
    )

    assert [c["baseInfo"]["name"] for c in listed.json()["items"]] == ["c", "b", "a"]
