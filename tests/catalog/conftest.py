"""The catalog over REST: the in-process stack of tests/apiserver, and helpers to set up
workspaces and members through the same API a console uses."""

from __future__ import annotations

from tests.apiserver.conftest import Stack, stack

__all__ = ["Stack", "stack"]

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
