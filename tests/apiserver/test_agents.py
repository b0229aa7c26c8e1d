"""Jenkins's Kubernetes agents, read from its Configuration as Code, over REST."""

from __future__ import annotations

from typing import Any

from tests.apiserver.conftest import Stack
from tests.pipelines.conftest import conforms

AGENTS = "/apis/pipeline.amamba.io/v1alpha1/management/agents"
LABELS = "/apis/pipeline.amamba.io/v1alpha1/management/node_labels"

CASC = """
jenkins:
  clouds:
  - kubernetes:
      name: kubernetes
      namespace: jenkins-agents
      templates:
      - name: go
        label: go
        containers:
        - name: go
          image: golang:1.22
          command: sleep
          args: infinity
        - name: jnlp
          image: jenkins/inbound-agent:latest
        volumes:
        - hostPathVolume:
            hostPath: /var/run/docker.sock
            mountPath: /var/run/docker.sock
      - name: maven
        label: maven
        namespace: builds
        containers:
        - name: maven
          image: maven:3.9
"""


async def register(stack: Stack, jenkins: Any) -> None:
    answer = await stack.http.post(
        "/apis/pipeline.amamba.io/v1alpha1/management/jenkins",
        json={
            "name": "jenkins-a",
            "default": True,
            "config": {
                "address": jenkins.url,
                "username": jenkins.admin_user,
                "password": jenkins.api_token,
            },
        },
        headers=stack.auth("admin"),
    )
    assert answer.status_code == 200, answer.text


async def test_agents_are_the_kubernetes_clouds_pod_templates(stack: Stack, jenkins: Any) -> None:
    jenkins.apply_casc(CASC)
    await register(stack, jenkins)

    answer = await stack.http.get(AGENTS, headers=stack.auth("bob"))

    assert answer.status_code == 200, answer.text
    conforms(answer.json(), "v1alpha1ListPodTemplatesResponse")
    agents = {a["name"]: a for a in answer.json()["agents"]}
    assert set(agents) == {"go", "maven"}
    go = agents["go"]
    assert (go["label"], go["namespace"]) == ("go", "jenkins-agents")
    containers = go["podTemplate"]["pod"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [
        ("go", "golang:1.22"),
        ("jnlp", "jenkins/inbound-agent:latest"),
    ]
    assert containers[0]["command"] == ["sleep"]
    mount = go["volumeMountPairs"][0]
    assert mount["volume"]["volumeSource"]["hostPath"]["path"] == "/var/run/docker.sock"
    assert "hostPath" in mount["volumeJson"]
    assert mount["volumeMount"]["mountPath"] == "/var/run/docker.sock"
    assert agents["maven"]["namespace"] == "builds"


async def test_node_labels_list_each_labels_containers(stack: Stack, jenkins: Any) -> None:
    jenkins.apply_casc(CASC)
    await register(stack, jenkins)

    answer = await stack.http.get(LABELS, headers=stack.auth("bob"))

    conforms(answer.json(), "v1alpha1ListNodeLabelResponse")
    assert answer.json()["items"] == [
        {"label": "go", "containers": ["go", "jnlp"]},
        {"label": "maven", "containers": ["maven"]},
    ]


async def test_without_a_jenkins_instance_agents_are_a_clear_400(stack: Stack) -> None:
    answer = await stack.http.get(AGENTS, headers=stack.auth("bob"))

    assert answer.status_code == 400
    assert "register" in answer.json()["message"]


async def test_a_jenkins_without_clouds_has_no_agents(stack: Stack, jenkins: Any) -> None:
    await register(stack, jenkins)

    answer = await stack.http.get(AGENTS, headers=stack.auth("bob"))

    assert answer.json() == {"agents": []}


async def test_node_labels_of_a_workspace_need_a_role_in_it(stack: Stack, jenkins: Any) -> None:
    jenkins.apply_casc(CASC)
    await register(stack, jenkins)
    made = await stack.http.post(
        "/apis/amamba.io/v1alpha1/management/workspaces",
        json={"alias": "team-a"},
        headers=stack.auth("admin"),
    )
    workspace_id = made.json()["workspaceId"]
    await stack.http.put(
        f"/apis/amamba.io/v1alpha1/management/workspaces/{workspace_id}/members/vera",
        json={"role": "workspace-viewer"},
        headers=stack.auth("admin"),
    )
    query = {"workspaceId": str(workspace_id)}

    stranger = await stack.http.get(LABELS, params=query, headers=stack.auth("bob"))
    member = await stack.http.get(LABELS, params=query, headers=stack.auth("vera"))

    assert stranger.status_code == 403
    assert "go" not in stranger.text
    assert member.status_code == 200, member.text
    assert [item["label"] for item in member.json()["items"]] == ["go", "maven"]
