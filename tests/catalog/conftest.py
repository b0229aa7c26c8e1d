"""The catalog over REST: the in-process stack of tests/apiserver, and helpers to set up
workspaces and members through the same API a console uses.

`stack` is a fresh stack and database per test. Test modules whose tests only read, or only
send input that is refused, use `shared_stack` instead (one stack and database per module):
starting a stack costs more than most tests here, and this folder should stay fast.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.apiserver.conftest import Stack, running, stack
from tests.conftest import drop_database, new_database, stack_settings

__all__ = ["Stack", "shared_stack", "stack"]

MGMT = "/apis/amamba.io/v1alpha1/management"
PIPELINE = "/apis/pipeline.amamba.io/v1alpha1"

SPEC = """\
parameterDefinitions:
  - name: gitURL
    displayName: Git URL
    description: the repository to build
  - name: goVersion
    type: choice
    default: ["1.22", "1.21"]
  - name: runTests
    type: boolean
    default: true
  - name: notes
    type: text
    default: ""
jenkinsfileTemplate: |
  pipeline {
    agent { label 'go{{ .params.goVersion }}' }
    stages {
      stage('clone') { steps { git url: '{{ .params.gitURL }}' } }
  {{- if .params.runTests }}
      stage('test') { steps { sh 'go test ./...' } }
  {{- end }}
    }
  }
"""


async def make_workspace(stack: Stack, alias: str) -> int:
    answer = await stack.http.post(
        f"{MGMT}/workspaces", json={"alias": alias}, headers=stack.auth("admin")
    )
    assert answer.status_code == 200, answer.text
    workspace_id: int = answer.json()["workspaceId"]
    return workspace_id


async def grant(stack: Stack, workspace_id: int, user: str, role: str) -> None:
    answer = await stack.http.put(
        f"{MGMT}/workspaces/{workspace_id}/members/{user}",
        json={"role": role},
        headers=stack.auth("admin"),
    )
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
async def shared_stack(server_url: str, template_database: str) -> AsyncIterator[Stack]:
    """One stack over one fresh database for a whole test module."""
    database_url = await new_database(server_url, template_database)
    async with running(stack_settings(database_url)) as started:
        yield started
    await drop_database(server_url, database_url)
