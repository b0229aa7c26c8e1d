"""Deletion: finalizers and deletionTimestamp, owner-reference cascades, namespaces."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import watch

from sandbox.kube import KubeStandIn
from tests.sandbox.kube.conftest import app_project, configmap

MERGE = "application/merge-patch+json"
PROJECTS = ("argoproj.io", "v1alpha1", "argocd", "appprojects")
FINALIZER = "resources-finalizer.argocd.argoproj.io"


def _owned(name: str, owner: Any, **extra: Any) -> dict[str, Any]:
    body = configmap(name)
    body["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": owner.metadata.name,
            "uid": owner.metadata.uid,
            **extra,
        }
    ]
    return body


@pytest.fixture
async def held_project(custom: aclient.CustomObjectsApi) -> dict:
    body = app_project("p")
    body["metadata"]["finalizers"] = [FINALIZER]
    created: dict = await custom.create_namespaced_custom_object(*PROJECTS, body)
    return created


async def test_delete_with_finalizer_only_marks_the_object(
    custom: aclient.CustomObjectsApi, held_project: dict
) -> None:
    answer = await custom.delete_namespaced_custom_object(*PROJECTS, "p")
    still = await custom.get_namespaced_custom_object(*PROJECTS, "p")
    assert answer["metadata"]["deletionTimestamp"]
    assert still["metadata"]["deletionTimestamp"] and still["metadata"]["finalizers"]


async def test_removing_the_last_finalizer_completes_the_delete(
    custom: aclient.CustomObjectsApi, held_project: dict
) -> None:
    await custom.delete_namespaced_custom_object(*PROJECTS, "p")
    await custom.patch_namespaced_custom_object(
        *PROJECTS, "p", {"metadata": {"finalizers": None}}, _content_type=MERGE
    )
    with pytest.raises(aclient.ApiException) as caught:
        await custom.get_namespaced_custom_object(*PROJECTS, "p")
    assert caught.value.status == 404


async def test_watch_sees_modified_then_deleted_for_finalized_object(
    custom: aclient.CustomObjectsApi, held_project: dict
) -> None:
    rv = held_project["metadata"]["resourceVersion"]
    await custom.delete_namespaced_custom_object(*PROJECTS, "p")
    await custom.patch_namespaced_custom_object(
        *PROJECTS, "p", {"metadata": {"finalizers": []}}, _content_type=MERGE
    )
    seen = []
    async with watch.Watch() as w:
        async for event in w.stream(
            custom.list_namespaced_custom_object,
            *PROJECTS,
            resource_version=rv,
            timeout_seconds=5,
        ):
            seen.append(event["type"])
            if event["type"] == "DELETED":
                break
    assert seen == ["MODIFIED", "DELETED"]


async def test_no_new_finalizer_while_deleting(
    custom: aclient.CustomObjectsApi, held_project: dict
) -> None:
    await custom.delete_namespaced_custom_object(*PROJECTS, "p")
    with pytest.raises(aclient.ApiException) as caught:
        await custom.patch_namespaced_custom_object(
            *PROJECTS, "p", {"metadata": {"finalizers": [FINALIZER, "x/y"]}}, _content_type=MERGE
        )
    assert caught.value.status == 422


async def test_background_delete_removes_dependents(
    core: aclient.CoreV1Api, cluster: KubeStandIn
) -> None:
    owner = await core.create_namespaced_config_map("default", configmap("owner"))
    await core.create_namespaced_config_map("default", _owned("child", owner))
    await core.delete_namespaced_config_map("owner", "default")
    assert cluster.get_object("v1", "ConfigMap", "child") is None


async def test_orphan_delete_keeps_dependents_without_the_reference(
    core: aclient.CoreV1Api,
) -> None:
    owner = await core.create_namespaced_config_map("default", configmap("owner"))
    await core.create_namespaced_config_map("default", _owned("child", owner))
    await core.delete_namespaced_config_map("owner", "default", propagation_policy="Orphan")
    child = await core.read_namespaced_config_map("child", "default")
    assert child.metadata.owner_references is None


async def test_dependent_with_another_live_owner_survives(core: aclient.CoreV1Api) -> None:
    first = await core.create_namespaced_config_map("default", configmap("first"))
    second = await core.create_namespaced_config_map("default", configmap("second"))
    body = _owned("child", first)
    body["metadata"]["ownerReferences"] += _owned("x", second)["metadata"]["ownerReferences"]
    await core.create_namespaced_config_map("default", body)
    await core.delete_namespaced_config_map("first", "default")
    child = await core.read_namespaced_config_map("child", "default")
    assert [r.name for r in child.metadata.owner_references] == ["second"]


async def test_foreground_delete_waits_for_a_finalized_dependent(
    core: aclient.CoreV1Api, cluster: KubeStandIn
) -> None:
    owner = await core.create_namespaced_config_map("default", configmap("owner"))
    child = _owned("child", owner, blockOwnerDeletion=True)
    child["metadata"]["finalizers"] = ["x/hold"]
    await core.create_namespaced_config_map("default", child)
    await core.delete_namespaced_config_map("owner", "default", propagation_policy="Foreground")
    waiting = cluster.get_object("v1", "ConfigMap", "owner")
    await core.patch_namespaced_config_map("child", "default", {"metadata": {"finalizers": None}})
    assert waiting is not None and waiting["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert cluster.get_object("v1", "ConfigMap", "owner") is None


async def test_deleting_a_namespace_deletes_its_contents(
    core: aclient.CoreV1Api, cluster: KubeStandIn
) -> None:
    await core.create_namespace({"metadata": {"name": "team-a"}})
    await core.create_namespaced_config_map("team-a", configmap("a"))
    answer = await core.delete_namespace("team-a")
    assert answer.kind == "Namespace"  # the client models the answer as a V1Status
    assert cluster.get_object("v1", "ConfigMap", "a", "team-a") is None
    assert cluster.get_object("v1", "Namespace", "team-a") is None


async def test_terminating_namespace_refuses_new_content(core: aclient.CoreV1Api) -> None:
    await core.create_namespace({"metadata": {"name": "team-a"}})
    held = configmap("held")
    held["metadata"]["finalizers"] = ["x/hold"]
    await core.create_namespaced_config_map("team-a", held)
    await core.delete_namespace("team-a")
    with pytest.raises(aclient.ApiException) as caught:
        await core.create_namespaced_config_map("team-a", configmap("new"))
    assert caught.value.status == 403
    assert json.loads(caught.value.body)["reason"] == "Forbidden"
