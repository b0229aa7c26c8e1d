"""A stack whose apiserver keeps credentials in a Kubernetes stand-in control plane.

`stack` is the apiserver test stack (real devops-server and apiserver in process) started with
`control_plane_kubeconfig` pointing at `control_plane`, a stand-in served on a free port.
Helpers make a workspace with one member and give each credential type's request body.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from libs.common.config import Settings
from services.apiserver.app import ApiServer
from services.devops_server.app import DevopsServer
from tests.apiserver.conftest import Stack, running
from tests.conftest import drop_database, new_database, stack_settings

MGMT = "/apis/amamba.io/v1alpha1/management"
CREDENTIALS = "/apis/credential.amamba.io/v1alpha1/workspaces/{}/credentials"
NAMESPACE = "workbench-system"

PASSWORD = "pa55-w0rd-never-shown"
TOKEN = "secret-text-never-shown"
PASSPHRASE = "passphrase-never-shown"
KEY_BODY = "S2V5TWF0ZXJpYWxOZXZlclNob3du"
PRIVATE_KEY = (
    f"-----BEGIN OPENSSH PRIVATE KEY-----\n{KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----\n"
)
KUBECONFIG_TOKEN = "kubeconfig-token-never-shown"
KUBECONFIG = (
    "apiVersion: v1\nkind: Config\n"
    "clusters:\n- name: c\n  cluster: {server: 'https://10.0.0.1:6443'}\n"
    f"users:\n- name: u\n  user: {{token: {KUBECONFIG_TOKEN}}}\n"
    "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"
)
SECRETS = (PASSWORD, TOKEN, PASSPHRASE, KEY_BODY, KUBECONFIG_TOKEN)

BODIES: dict[str, dict[str, Any]] = {
    "USERNAME_PASSWORD": {"basicCredential": {"username": "robot", "password": PASSWORD}},
    "SECRET_TEXT": {"secretTextCredential": {"secret": TOKEN}},
    "SSH_KEY": {
        "sshCredential": {"username": "git", "privateKey": PRIVATE_KEY, "passphrase": PASSPHRASE}
    },
    "KUBECONFIG": {"kubeconfigCredential": {"content": KUBECONFIG}},
}


def body(kind: str, name: str, description: str = "") -> dict[str, Any]:
    """A create request for a credential of `kind`."""
    return {"credentialName": name, "type": kind, "description": description, **BODIES[kind]}


def decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


async def start_stack(settings: Settings) -> tuple[DevopsServer, ApiServer]:
    devops = DevopsServer(settings)
    await devops.start()
    api = ApiServer(settings)
    await api.start()
    return devops, api


@pytest.fixture
async def control_plane() -> AsyncIterator[Any]:
    from sandbox.kube import KubeStandIn

    cluster = KubeStandIn(name="control-plane", control_plane=True)
    await cluster.start()
    yield cluster
    await cluster.stop()


@asynccontextmanager
async def running_stack(
    database_url: str, control_plane: Any, folder: Path
) -> AsyncIterator[Stack]:
    kubeconfig = control_plane.write_kubeconfig(folder / "control-plane.yaml")
    settings = stack_settings(database_url, control_plane_kubeconfig=kubeconfig)
    async with running(settings) as started:
        yield started


@pytest.fixture
async def stack(database_url: str, control_plane: Any, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(database_url, control_plane, tmp_path) as made:
        yield made


@dataclass
class Shared:
    """One stack, control plane and workspace for a module's tests that change nothing."""

    stack: Stack
    control_plane: Any
    workspace_id: int


@pytest.fixture(scope="module")
async def shared(
    server_url: str, template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Shared]:
    from sandbox.kube import KubeStandIn

    url = await new_database(server_url, template_database)
    cluster = KubeStandIn(name="control-plane", control_plane=True)
    await cluster.start()
    try:
        folder = tmp_path_factory.mktemp("shared")
        async with running_stack(url, cluster, folder) as made:
            yield Shared(made, cluster, await workspace(made, "shared", {}))
    finally:
        await cluster.stop()
        await drop_database(server_url, url)


async def workspace(stack: Stack, alias: str, members: dict[str, str]) -> int:
    """A new workspace with `members` (user → role); its id."""
    made = await stack.http.post(
        f"{MGMT}/workspaces", json={"alias": alias}, headers=stack.auth("admin")
    )
    assert made.status_code == 200, made.text
    workspace_id: int = made.json()["workspaceId"]
    for user, role in members.items():
        granted = await stack.http.put(
            f"{MGMT}/workspaces/{workspace_id}/members/{user}",
            json={"role": role},
            headers=stack.auth("admin"),
        )
        assert granted.status_code == 200, granted.text
    return workspace_id
