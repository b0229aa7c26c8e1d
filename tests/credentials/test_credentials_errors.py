"""Credentials refused: duplicates, missing ones, bad input per type, other tenants, viewers,
and a control plane that is down or not configured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.apiserver.conftest import Stack
from tests.conftest import stack_settings
from tests.credentials.conftest import (
    CREDENTIALS,
    PASSWORD,
    PRIVATE_KEY,
    TOKEN,
    Shared,
    body,
    start_stack,
    workspace,
)


async def test_creating_an_existing_name_is_a_conflict(stack: Stack) -> None:
    workspace_id = await workspace(stack, "team-a", {})
    url = CREDENTIALS.format(workspace_id)
    await stack.http.post(url, json=body("SECRET_TEXT", "token"), headers=stack.auth("admin"))

    again = await stack.http.post(
        url, json=body("USERNAME_PASSWORD", "token"), headers=stack.auth("admin")
    )

    assert again.status_code == 409
    assert again.json()["code"] == 6
    assert "'token' already exists" in again.json()["message"]
    assert PASSWORD not in again.text


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_a_missing_credential_is_not_found(stack: Stack, method: str) -> None:
    workspace_id = await workspace(stack, "team-a", {})
    url = f"{CREDENTIALS.format(workspace_id)}/nothing-here"

    answer = await stack.http.request(
        method,
        url,
        json={"description": "x"} if method == "PUT" else None,
        headers=stack.auth("admin"),
    )

    assert answer.status_code == 404, answer.text
    assert answer.json() == {
        "code": 5,
        "message": f"credential 'nothing-here' does not exist in workspace {workspace_id}",
        "details": [],
    }


async def test_a_credential_in_a_workspace_that_does_not_exist_is_not_found(
    stack: Stack, control_plane: Any
) -> None:
    answer = await stack.http.post(
        CREDENTIALS.format(4242), json=body("SECRET_TEXT", "token"), headers=stack.auth("admin")
    )

    assert answer.status_code == 404, answer.text
    assert (
        control_plane.get_object("v1", "Secret", "wb-credential-4242-token", "workbench-system")
        is None
    )


BAD_INPUT = [
    pytest.param(
        {"type": "KUBECONFIG", "kubeconfigCredential": {"content": f"{TOKEN}: [unclosed"}},
        "kubeconfigCredential.content: is not a YAML document",
        id="kubeconfig-not-yaml",
    ),
    pytest.param(
        {"type": "KUBECONFIG", "kubeconfigCredential": {"content": f"token: {TOKEN}"}},
        "kubeconfigCredential.content: is not a kubeconfig",
        id="kubeconfig-without-clusters",
    ),
    pytest.param(
        {"type": "SSH_KEY", "sshCredential": {"username": "git", "privateKey": TOKEN}},
        "sshCredential.privateKey: must be one PEM private key block",
        id="ssh-key-not-pem",
    ),
    pytest.param(
        {"type": "SSH_KEY", "sshCredential": {"privateKey": PRIVATE_KEY}},
        "sshCredential.username: must not be empty",
        id="ssh-key-without-username",
    ),
    pytest.param(
        {"type": "USERNAME_PASSWORD", "basicCredential": {"password": TOKEN}},
        "basicCredential.username: must not be empty",
        id="basic-without-username",
    ),
    pytest.param(
        {"type": "USERNAME_PASSWORD", "basicCredential": {"username": "robot"}},
        "basicCredential.password: must not be empty",
        id="basic-without-password",
    ),
    pytest.param(
        {"type": "SECRET_TEXT"},
        "secretTextCredential.secret: must not be empty",
        id="secret-text-without-secret",
    ),
    pytest.param(
        {"secretTextCredential": {"secret": TOKEN}},
        "type: must be one of",
        id="no-type",
    ),
    pytest.param(
        {
            "type": "SECRET_TEXT",
            "secretTextCredential": {"secret": TOKEN},
            "description": "d" * 2000,
        },
        "description: must be at most 1024 characters",
        id="description-too-long",
    ),
]


@pytest.mark.parametrize(("fields", "message"), BAD_INPUT)
async def test_bad_input_is_refused_naming_the_field_and_never_the_value(
    shared: Shared, fields: dict[str, Any], message: str
) -> None:
    stack = shared.stack

    answer = await stack.http.post(
        CREDENTIALS.format(shared.workspace_id),
        json={"credentialName": "bad", **fields},
        headers=stack.auth("admin"),
    )

    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == 3
    assert answer.json()["message"].startswith(message)
    assert TOKEN not in answer.text
    assert shared.control_plane.list_objects("v1", "Secret", "workbench-system") == []


@pytest.mark.parametrize("name", ["Upper", "-dash", "a/b", "x" * 64, "dot."])
async def test_a_name_that_cannot_be_a_secret_name_is_refused(shared: Shared, name: str) -> None:
    answer = await shared.stack.http.post(
        CREDENTIALS.format(shared.workspace_id),
        json=body("SECRET_TEXT", name),
        headers=shared.stack.auth("admin"),
    )

    assert answer.status_code == 400, answer.text
    assert answer.json()["message"].startswith("credentialName: ")


async def test_an_update_cannot_change_the_type(stack: Stack) -> None:
    workspace_id = await workspace(stack, "team-a", {})
    url = CREDENTIALS.format(workspace_id)
    await stack.http.post(url, json=body("SECRET_TEXT", "token"), headers=stack.auth("admin"))

    answer = await stack.http.put(
        f"{url}/token",
        json={"type": "USERNAME_PASSWORD", "basicCredential": {"username": "u", "password": "p"}},
        headers=stack.auth("admin"),
    )

    assert answer.status_code == 400, answer.text
    assert answer.json()["message"].startswith("type: credential 'token' is SECRET_TEXT")


async def test_an_update_checks_a_new_secret_value(stack: Stack) -> None:
    workspace_id = await workspace(stack, "team-a", {})
    url = CREDENTIALS.format(workspace_id)
    await stack.http.post(url, json=body("KUBECONFIG", "cluster"), headers=stack.auth("admin"))

    answer = await stack.http.put(
        f"{url}/cluster",
        json={"kubeconfigCredential": {"content": "[not: closed"}},
        headers=stack.auth("admin"),
    )

    assert answer.status_code == 400, answer.text
    assert answer.json()["message"] == "kubeconfigCredential.content: is not a YAML document"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "LIST", "POST"])
async def test_a_member_of_one_workspace_is_refused_anothers_credentials(
    stack: Stack, method: str
) -> None:
    await workspace(stack, "team-a", {"ann": "workspace-admin"})
    other = await workspace(stack, "team-b", {})
    url = CREDENTIALS.format(other)
    await stack.http.post(url, json=body("SECRET_TEXT", "token"), headers=stack.auth("admin"))

    if method == "LIST":
        answer = await stack.http.get(url, headers=stack.auth("ann"))
    elif method == "POST":
        answer = await stack.http.post(
            url, json=body("SECRET_TEXT", "mine"), headers=stack.auth("ann")
        )
    else:
        answer = await stack.http.request(
            method,
            f"{url}/token",
            json={"description": "x"} if method == "PUT" else None,
            headers=stack.auth("ann"),
        )

    assert answer.status_code == 403, answer.text


async def test_a_viewer_reads_but_cannot_create(stack: Stack) -> None:
    workspace_id = await workspace(stack, "team-a", {"vic": "workspace-viewer"})
    url = CREDENTIALS.format(workspace_id)

    listed = await stack.http.get(url, headers=stack.auth("vic"))
    created = await stack.http.post(
        url, json=body("SECRET_TEXT", "token"), headers=stack.auth("vic")
    )

    assert listed.status_code == 200
    assert created.status_code == 403


async def test_an_update_that_loses_a_race_is_a_conflict(stack: Stack, control_plane: Any) -> None:
    workspace_id = await workspace(stack, "team-a", {})
    url = CREDENTIALS.format(workspace_id)
    await stack.http.post(url, json=body("SECRET_TEXT", "token"), headers=stack.auth("admin"))
    control_plane.fail_next_write(status=409, resource="secrets")

    answer = await stack.http.put(
        f"{url}/token", json={"description": "new"}, headers=stack.auth("admin")
    )

    assert answer.status_code == 409, answer.text
    assert answer.json()["message"] == (
        "credential 'token' changed while it was being updated; try again"
    )


async def test_a_secret_the_cluster_refuses_is_reported_in_our_words(
    stack: Stack, control_plane: Any
) -> None:
    workspace_id = await workspace(stack, "team-a", {})
    control_plane.fail_next_write(status=422, resource="secrets")

    answer = await stack.http.post(
        CREDENTIALS.format(workspace_id),
        json=body("SECRET_TEXT", "token"),
        headers=stack.auth("admin"),
    )

    assert answer.status_code == 400, answer.text
    assert answer.json()["message"] == (
        "the control-plane cluster refused the credential's Secret; check its size"
    )


async def test_a_control_plane_that_is_down_answers_unavailable(
    stack: Stack, control_plane: Any
) -> None:
    workspace_id = await workspace(stack, "team-a", {})
    await control_plane.stop()

    answer = await stack.http.post(
        CREDENTIALS.format(workspace_id),
        json=body("SECRET_TEXT", "token"),
        headers=stack.auth("admin"),
    )

    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == 14
    assert TOKEN not in answer.text


async def test_a_failing_control_plane_answers_unavailable(
    stack: Stack, control_plane: Any
) -> None:
    workspace_id = await workspace(stack, "team-a", {})
    control_plane.fail_requests(500)

    answer = await stack.http.get(CREDENTIALS.format(workspace_id), headers=stack.auth("admin"))

    assert answer.status_code == 503, answer.text


async def test_without_a_control_plane_credentials_are_a_failed_precondition(
    database_url: str,
) -> None:
    settings = stack_settings(database_url)
    devops, api = await start_stack(settings)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.http_port}") as http:
            stack = Stack(settings, devops, api, http)
            workspace_id = await workspace(stack, "team-a", {})
            answer = await http.get(CREDENTIALS.format(workspace_id), headers=stack.auth("admin"))
    finally:
        await api.stop()
        await devops.stop()

    assert answer.status_code == 400, answer.text
    assert answer.json() == {
        "code": 9,
        "message": "no control-plane cluster is configured",
        "details": [],
    }


async def test_an_unreadable_kubeconfig_file_answers_unavailable(
    database_url: str, tmp_path: Path
) -> None:
    broken = tmp_path / "cp.yaml"
    broken.write_text(f"users: [{{user: {{token: {TOKEN}}}}}]\n")
    settings = stack_settings(database_url, control_plane_kubeconfig=broken)
    devops, api = await start_stack(settings)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.http_port}") as http:
            stack = Stack(settings, devops, api, http)
            workspace_id = await workspace(stack, "team-a", {})
            answer = await http.get(CREDENTIALS.format(workspace_id), headers=stack.auth("admin"))
    finally:
        await api.stop()
        await devops.stop()

    assert answer.status_code == 503, answer.text
    assert TOKEN not in answer.text


async def test_a_secret_workbench_did_not_make_is_no_credential(
    stack: Stack, control_plane: Any
) -> None:
    workspace_id = await workspace(stack, "team-a", {})
    control_plane.seed(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "workbench-system"},
        }
    )
    control_plane.seed(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": f"wb-credential-{workspace_id}-planted",
                "namespace": "workbench-system",
                "labels": {"workbench.io/workspace": str(workspace_id)},
            },
            "data": {},
        }
    )
    url = CREDENTIALS.format(workspace_id)

    got = await stack.http.get(f"{url}/planted", headers=stack.auth("admin"))
    listed = await stack.http.get(url, headers=stack.auth("admin"))

    assert got.status_code == 404, got.text
    assert listed.json()["items"] == []


async def test_a_list_sorted_by_an_unknown_field_is_refused(shared: Shared) -> None:
    answer = await shared.stack.http.get(
        CREDENTIALS.format(shared.workspace_id),
        params={"sortBy": "CLUSTER"},
        headers=shared.stack.auth("admin"),
    )

    assert answer.status_code == 400, answer.text
    assert answer.json()["message"] == "sortBy: credentials sort by FIELD_NAME or CREATED_AT"
