"""Pipelines over REST on the real stack (devops-server + apiserver) and the Jenkins stand-in.

`stack` and `jenkins` are the apiserver folder's fixtures; `ci` adds a workspace with a
registered Jenkins instance and three members: alice (admin), eddie (editor), vera (viewer).
`shared_ci` is the same, made once per module, for modules whose tests neither stop Jenkins
nor depend on what else the workspace holds (each uses names of its own).
`conforms` checks an answer against the published document's definition, field by field.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.apiserver.app import ApiServer
from services.devops_server.app import DevopsServer
from tests.apiserver.conftest import Stack, jenkins, stack
from tests.conftest import drop_database, new_database, stack_settings

__all__ = ["jenkins", "stack"]

MGMT = "/apis/amamba.io/v1alpha1/management"
JENKINS = "/apis/pipeline.amamba.io/v1alpha1/management/jenkins"
PUBLISHED = Path("/work/shared/reference/amamba-openapi-v0.132.0.json")
SYNC = "grpc-metadata-x-workbench-sync"
SYNC_ERROR = "grpc-metadata-x-workbench-sync-error"

SCRIPT = """pipeline {
    agent any
    stages {
        stage('Build') {
            steps {
                echo 'building <app> & "friends"'
            }
        }
    }
}
"""


@cache
def _definitions() -> dict[str, Any]:
    definitions: dict[str, Any] = json.loads(PUBLISHED.read_text())["definitions"]
    return definitions


def conforms(value: Any, definition: str, where: str = "$") -> None:
    """Assert that `value` has the shape of `definition` in the published document."""
    schema = _definitions()[definition]
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} is not a {definition}"
        return
    assert isinstance(value, dict), f"{where}: not an object"
    properties = schema.get("properties", {})
    for key, item in value.items():
        assert key in properties, f"{where}: {key!r} is not a field of {definition}"
        field = properties[key]
        if "$ref" in field:
            conforms(item, field["$ref"].rsplit("/", 1)[1], f"{where}.{key}")
        elif field.get("type") == "array":
            assert isinstance(item, list), f"{where}.{key}: not an array"
            for n, element in enumerate(item):
                items = field["items"]
                if "$ref" in items:
                    conforms(element, items["$ref"].rsplit("/", 1)[1], f"{where}.{key}[{n}]")
        elif field.get("type") == "string":
            assert isinstance(item, str), f"{where}.{key}: not a string"
        elif field.get("type") == "integer":
            assert isinstance(item, int), f"{where}.{key}: not an integer"
        elif field.get("type") == "boolean":
            assert isinstance(item, bool), f"{where}.{key}: not a boolean"


@dataclass
class CI:
    stack: Stack
    jenkins: Any
    workspace_id: int

    @property
    def http(self) -> httpx.AsyncClient:
        return self.stack.http

    def path(self, suffix: str = "", workspace_id: int | None = None) -> str:
        ws = workspace_id if workspace_id is not None else self.workspace_id
        return f"/apis/pipeline.amamba.io/v1alpha1/workspaces/{ws}/pipelines{suffix}"

    def auth(self, user: str = "alice") -> dict[str, str]:
        return self.stack.auth(user)

    async def create(self, name: str, user: str = "alice", **fields: Any) -> httpx.Response:
        body = {"name": name, "type": "PIPELINE_TYPE_CUSTOM", **fields}
        return await self.http.post(self.path(), json=body, headers=self.auth(user))

    async def put_jenkinsfile(self, name: str, text: str = SCRIPT) -> httpx.Response:
        return await self.http.put(
            self.path(f"/{name}/jenkinsfile"), json={"jenkinsfile": text}, headers=self.auth()
        )

    async def get(self, name: str, user: str = "alice") -> httpx.Response:
        return await self.http.get(self.path(f"/{name}"), headers=self.auth(user))

    async def list(self, user: str = "alice", **query: Any) -> httpx.Response:
        return await self.http.get(self.path(), params=query, headers=self.auth(user))

    def job(self, name: str, workspace_id: int | None = None) -> Any:
        ws = workspace_id if workspace_id is not None else self.workspace_id
        return self.jenkins.item(f"{ws}/{name}")


async def new_workspace(stack: Stack, alias: str, members: dict[str, str]) -> int:
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


async def register_jenkins(stack: Stack, jenkins: Any) -> None:
    config = {"address": jenkins.url, "username": jenkins.admin_user, "password": jenkins.api_token}
    answer = await stack.http.post(
        JENKINS, json={"name": "jenkins-a", "config": config}, headers=stack.auth("admin")
    )
    assert answer.status_code == 200, answer.text


async def _prepared(stack: Stack, jenkins: Any) -> CI:
    workspace_id = await new_workspace(
        stack,
        "team-a",
        {"alice": "workspace-admin", "eddie": "workspace-editor", "vera": "workspace-viewer"},
    )
    await register_jenkins(stack, jenkins)
    # Retry promptly in tests: Jenkins comes back within a second or two.
    stack.devops.pipeline_sync.base_delay = 0.05
    stack.devops.pipeline_sync.max_delay = 0.4
    return CI(stack, jenkins, workspace_id)


@pytest.fixture
async def ci(stack: Stack, jenkins: Any) -> CI:
    return await _prepared(stack, jenkins)


@pytest.fixture(scope="module")
async def shared_ci(server_url: str, template_database: str) -> AsyncIterator[CI]:
    from sandbox.jenkins import JenkinsStandIn

    url = await new_database(server_url, template_database)
    settings = stack_settings(url)
    devops = DevopsServer(settings)
    await devops.start()
    api = ApiServer(settings)
    await api.start()
    standin = JenkinsStandIn(time_scale=100.0)
    await standin.start()

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.http_port}") as http:
        yield await _prepared(Stack(settings, devops, api, http), standin)

    await standin.stop()
    await api.stop()
    await devops.stop()
    await drop_database(server_url, url)
