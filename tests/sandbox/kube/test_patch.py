"""PATCH in its four content types, on built-in kinds and on custom resources."""

from __future__ import annotations

import json

import pytest
from kubernetes_asyncio import client as aclient

from sandbox.kube import KubeStandIn
from tests.sandbox.kube.conftest import app_project, deployment, raw

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
PROJECT = ("argoproj.io", "v1alpha1", "argocd", "appprojects")


@pytest.fixture
async def project(custom: aclient.CustomObjectsApi) -> dict:
    body = app_project("p", sourceRepos=["a", "b"], description="d")
    created: dict = await custom.create_namespaced_custom_object(*PROJECT, body)
    return created


async def test_merge_patch_merges_maps_and_null_deletes(
    custom: aclient.CustomObjectsApi, project: dict
) -> None:
    patched = await custom.patch_namespaced_custom_object(
        *PROJECT, "p", {"spec": {"description": None, "x": {"y": 1}}}, _content_type=MERGE
    )
    assert patched["spec"] == {"sourceRepos": ["a", "b"], "x": {"y": 1}}


async def test_merge_patch_replaces_lists(custom: aclient.CustomObjectsApi, project: dict) -> None:
    patched = await custom.patch_namespaced_custom_object(
        *PROJECT, "p", {"spec": {"sourceRepos": ["c"]}}, _content_type=MERGE
    )
    assert patched["spec"]["sourceRepos"] == ["c"]


async def test_json_patch_applies_operations(
    custom: aclient.CustomObjectsApi, project: dict
) -> None:
    ops = [
        {"op": "add", "path": "/spec/sourceRepos/-", "value": "c"},
        {"op": "replace", "path": "/spec/description", "value": "e"},
    ]
    patched = await custom.patch_namespaced_custom_object(*PROJECT, "p", ops)
    assert patched["spec"]["sourceRepos"] == ["a", "b", "c"]
    assert patched["spec"]["description"] == "e"


async def test_json_patch_failed_test_is_422(
    custom: aclient.CustomObjectsApi, project: dict
) -> None:
    ops = [{"op": "test", "path": "/spec/description", "value": "other"}]
    with pytest.raises(aclient.ApiException) as caught:
        await custom.patch_namespaced_custom_object(*PROJECT, "p", ops)
    assert caught.value.status == 422


async def test_dict_body_without_content_type_is_sent_as_json_patch_and_refused(
    custom: aclient.CustomObjectsApi, project: dict
) -> None:
    # kubernetes-asyncio picks json-patch for a dict body; a real server refuses it with 400.
    with pytest.raises(aclient.ApiException) as caught:
        await custom.patch_namespaced_custom_object(*PROJECT, "p", {"spec": {"x": 1}})
    assert caught.value.status == 400


async def test_strategic_merge_on_custom_resource_is_415(
    custom: aclient.CustomObjectsApi, project: dict
) -> None:
    with pytest.raises(aclient.ApiException) as caught:
        await custom.patch_namespaced_custom_object(
            *PROJECT,
            "p",
            {"spec": {"x": 1}},
            _content_type="application/strategic-merge-patch+json",
        )
    body = json.loads(caught.value.body)
    assert caught.value.status == 415 and body["reason"] == "UnsupportedMediaType"


async def test_patch_with_stale_resource_version_is_409(
    custom: aclient.CustomObjectsApi, project: dict
) -> None:
    await custom.patch_namespaced_custom_object(
        *PROJECT, "p", {"spec": {"x": 1}}, _content_type=MERGE
    )
    stale = {"metadata": {"resourceVersion": project["metadata"]["resourceVersion"]}}
    with pytest.raises(aclient.ApiException) as caught:
        await custom.patch_namespaced_custom_object(*PROJECT, "p", stale, _content_type=MERGE)
    assert caught.value.status == 409


async def test_strategic_merge_merges_containers_by_name(apps: aclient.AppsV1Api) -> None:
    await apps.create_namespaced_deployment("default", deployment("web"))
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "n:2"}]}}}}
    patched = await apps.patch_namespaced_deployment("web", "default", patch)
    containers = patched.spec.template.spec.containers
    assert [(c.name, c.image) for c in containers] == [("main", "n:2"), ("sidecar", "envoy:1")]
    assert containers[0].env[0].name == "A"


async def test_strategic_merge_delete_directive_removes_a_list_item(
    apps: aclient.AppsV1Api,
) -> None:
    await apps.create_namespaced_deployment("default", deployment("web"))
    patch = {
        "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}
    }
    patched = await apps.patch_namespaced_deployment("web", "default", patch)
    assert [c.name for c in patched.spec.template.spec.containers] == ["main"]


async def test_strategic_merge_unions_finalizers(core: aclient.CoreV1Api) -> None:
    body = {"metadata": {"name": "a", "finalizers": ["x/one"]}}
    await core.create_namespaced_config_map("default", body)
    patched = await core.patch_namespaced_config_map(
        "a", "default", {"metadata": {"finalizers": ["x/two"]}}
    )
    assert patched.metadata.finalizers == ["x/one", "x/two"]


async def test_json_patch_on_built_in_kind(apps: aclient.AppsV1Api) -> None:
    await apps.create_namespaced_deployment("default", deployment("web"))
    ops = [{"op": "replace", "path": "/spec/replicas", "value": 4}]
    patched = await apps.patch_namespaced_deployment("web", "default", ops)
    assert patched.spec.replicas == 4


async def test_unknown_patch_content_type_is_415(
    apps: aclient.AppsV1Api, cluster: KubeStandIn
) -> None:
    await apps.create_namespaced_deployment("default", deployment("web"))
    path = "/apis/apps/v1/namespaces/default/deployments/web"
    status, body = await raw(cluster, "PATCH", path, "{}", content_type="text/plain")
    assert status == 415 and body["reason"] == "UnsupportedMediaType"


async def test_apply_creates_when_absent_with_201(custom: aclient.CustomObjectsApi) -> None:
    _, status, _ = await custom.patch_namespaced_custom_object_with_http_info(
        *PROJECT, "q", app_project("q"), _content_type=APPLY, field_manager="syncer"
    )
    fetched = await custom.get_namespaced_custom_object(*PROJECT, "q")
    assert status == 201
    assert fetched["metadata"]["managedFields"][0]["manager"] == "syncer"


async def test_apply_without_field_manager_is_422(custom: aclient.CustomObjectsApi) -> None:
    with pytest.raises(aclient.ApiException) as caught:
        await custom.patch_namespaced_custom_object(
            *PROJECT, "q", app_project("q"), _content_type=APPLY
        )
    assert caught.value.status == 422


async def test_apply_by_another_manager_on_owned_field_is_409(
    custom: aclient.CustomObjectsApi,
) -> None:
    await custom.patch_namespaced_custom_object(
        *PROJECT,
        "q",
        app_project("q", description="one"),
        _content_type=APPLY,
        field_manager="syncer",
    )
    with pytest.raises(aclient.ApiException) as caught:
        await custom.patch_namespaced_custom_object(
            *PROJECT,
            "q",
            app_project("q", description="two"),
            _content_type=APPLY,
            field_manager="someone-else",
        )
    assert caught.value.status == 409 and "someone-else" not in caught.value.body
    assert "syncer" in json.loads(caught.value.body)["message"]


async def test_forced_apply_takes_the_field_over(custom: aclient.CustomObjectsApi) -> None:
    await custom.patch_namespaced_custom_object(
        *PROJECT,
        "q",
        app_project("q", description="one"),
        _content_type=APPLY,
        field_manager="syncer",
    )
    applied = await custom.patch_namespaced_custom_object(
        *PROJECT,
        "q",
        app_project("q", description="two"),
        _content_type=APPLY,
        field_manager="other",
        force=True,
    )
    assert applied["spec"]["description"] == "two"


async def test_apply_removes_fields_the_manager_stops_applying(
    custom: aclient.CustomObjectsApi,
) -> None:
    await custom.patch_namespaced_custom_object(
        *PROJECT,
        "q",
        app_project("q", description="one", sourceRepos=["*"]),
        _content_type=APPLY,
        field_manager="syncer",
    )
    applied = await custom.patch_namespaced_custom_object(
        *PROJECT,
        "q",
        app_project("q", sourceRepos=["*"]),
        _content_type=APPLY,
        field_manager="syncer",
    )
    assert applied["spec"] == {"sourceRepos": ["*"]}


async def test_apply_accepts_yaml_body(cluster: KubeStandIn) -> None:
    yaml_body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  k: v\n"
    path = "/api/v1/namespaces/default/configmaps/y?fieldManager=me"
    status, _ = await raw(cluster, "PATCH", path, yaml_body, content_type=APPLY)
    stored = cluster.get_object("v1", "ConfigMap", "y")
    assert status == 201 and stored is not None and stored["data"] == {"k": "v"}
