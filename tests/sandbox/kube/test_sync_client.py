"""The same behaviours seen through a second, independent client: the official synchronous
`kubernetes` package, against a stand-in served from its own thread."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from sandbox.kube import ThreadedKubeStandIn
from tests.sandbox.kube.conftest import app_project, configmap, deployment

PROJECTS = ("argoproj.io", "v1alpha1", "argocd", "appprojects")
MERGE = "application/merge-patch+json"
APPLY = "application/apply-patch+yaml"


def _reason(exc: ApiException) -> str:
    reason: str = json.loads(exc.body)["reason"]
    return reason


def test_configmap_crud(sync_api: client.ApiClient) -> None:
    core = client.CoreV1Api(sync_api)
    created, status, _ = core.create_namespaced_config_map_with_http_info(
        "default", configmap("a", k="1")
    )
    created.data = {"k": "2"}
    replaced = core.replace_namespaced_config_map("a", "default", created)
    fetched = core.read_namespaced_config_map("a", "default")
    core.delete_namespaced_config_map("a", "default")
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_config_map("a", "default")
    assert status == 201 and created.metadata.uid
    assert replaced.metadata.resource_version != created.metadata.resource_version
    assert fetched.data == {"k": "2"}
    assert caught.value.status == 404 and _reason(caught.value) == "NotFound"


def test_custom_resource_crud(sync_api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(sync_api)
    created = custom.create_namespaced_custom_object(*PROJECTS, app_project("p"))
    created["spec"]["description"] = "d"
    replaced = custom.replace_namespaced_custom_object(*PROJECTS, "p", created)
    custom.delete_namespaced_custom_object(*PROJECTS, "p")
    listed = custom.list_namespaced_custom_object(*PROJECTS)
    assert replaced["metadata"]["generation"] == 2 and replaced["spec"]["description"] == "d"
    assert listed["items"] == []


def test_stale_replace_is_409_conflict(sync_api: client.ApiClient) -> None:
    core = client.CoreV1Api(sync_api)
    created = core.create_namespaced_config_map("default", configmap("a"))
    core.patch_namespaced_config_map("a", "default", {"data": {"k": "x"}})
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_config_map("a", "default", created)
    assert caught.value.status == 409 and _reason(caught.value) == "Conflict"


def test_duplicate_create_is_409_already_exists(sync_api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(sync_api)
    custom.create_namespaced_custom_object(*PROJECTS, app_project("p"))
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(*PROJECTS, app_project("p"))
    assert caught.value.status == 409 and _reason(caught.value) == "AlreadyExists"


def test_strategic_merge_patch_on_deployment(sync_api: client.ApiClient) -> None:
    apps = client.AppsV1Api(sync_api)
    apps.create_namespaced_deployment("default", deployment("web"))
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "n:2"}]}}}}
    patched = apps.patch_namespaced_deployment("web", "default", patch)
    images = [c.image for c in patched.spec.template.spec.containers]
    assert images == ["n:2", "envoy:1"]


def test_json_patch_on_custom_resource(sync_api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(sync_api)
    custom.create_namespaced_custom_object(*PROJECTS, app_project("p"))
    ops = [{"op": "add", "path": "/spec/description", "value": "j"}]
    patched = custom.patch_namespaced_custom_object(
        *PROJECTS, "p", ops, _content_type="application/json-patch+json"
    )
    assert patched["spec"]["description"] == "j"


def test_merge_patch_on_custom_resource(sync_api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(sync_api)
    custom.create_namespaced_custom_object(*PROJECTS, app_project("p", sourceRepos=["a"]))
    patched = custom.patch_namespaced_custom_object(
        *PROJECTS, "p", {"spec": {"sourceRepos": None, "x": 1}}, _content_type=MERGE
    )
    assert patched["spec"] == {"x": 1}


def test_default_custom_resource_patch_is_a_merge_patch(sync_api: client.ApiClient) -> None:
    # Unlike kubernetes-asyncio, the sync client defaults custom objects to merge patch.
    custom = client.CustomObjectsApi(sync_api)
    custom.create_namespaced_custom_object(*PROJECTS, app_project("p", sourceRepos=["a"]))
    patched = custom.patch_namespaced_custom_object(*PROJECTS, "p", {"spec": {"x": 1}})
    assert patched["spec"] == {"sourceRepos": ["a"], "x": 1}


def test_strategic_merge_on_custom_resource_is_415(sync_api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(sync_api)
    custom.create_namespaced_custom_object(*PROJECTS, app_project("p"))
    with pytest.raises(ApiException) as caught:
        custom.patch_namespaced_custom_object(
            *PROJECTS,
            "p",
            {"spec": {"x": 1}},
            _content_type="application/strategic-merge-patch+json",
        )
    assert caught.value.status == 415 and _reason(caught.value) == "UnsupportedMediaType"


def test_server_side_apply_creates_and_updates(sync_api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(sync_api)
    for description in ("one", "two"):
        applied = custom.patch_namespaced_custom_object(
            *PROJECTS,
            "q",
            app_project("q", description=description),
            _content_type=APPLY,
            field_manager="syncer",
        )
    assert applied["spec"]["description"] == "two"
    assert applied["metadata"]["managedFields"][0]["manager"] == "syncer"


def test_label_and_field_selectors(sync_api: client.ApiClient) -> None:
    core = client.CoreV1Api(sync_api)
    for name, tier in (("a", "front"), ("b", "back"), ("c", "front")):
        core.create_namespaced_config_map("default", configmap(name, {"tier": tier}))
    front = core.list_namespaced_config_map("default", label_selector="tier in (front)")
    not_a = core.list_namespaced_config_map(
        "default", label_selector="tier=front", field_selector="metadata.name!=a"
    )
    assert [c.metadata.name for c in front.items] == ["a", "c"]
    assert [c.metadata.name for c in not_a.items] == ["c"]


def test_pagination(sync_api: client.ApiClient) -> None:
    core = client.CoreV1Api(sync_api)
    for name in "abcde":
        core.create_namespaced_config_map("default", configmap(name))
    first = core.list_namespaced_config_map("default", limit=2)
    second = core.list_namespaced_config_map("default", limit=2, _continue=first.metadata._continue)
    assert [c.metadata.name for c in first.items + second.items] == ["a", "b", "c", "d"]
    assert first.metadata.remaining_item_count == 3


def _events(api: Any, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
    seen = []
    w = watch.Watch()
    for event in w.stream(api, *args, **kwargs):
        seen.append((event["type"], event["raw_object"]["metadata"].get("name", "")))
        if event["type"] in ("DELETED", "BOOKMARK"):
            w.stop()
    return seen


def test_watch_sees_added_modified_deleted_and_bookmark(
    sync_api: client.ApiClient, threaded: ThreadedKubeStandIn
) -> None:
    core = client.CoreV1Api(sync_api)
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", configmap("a"))
    core.patch_namespaced_config_map("a", "default", {"data": {"k": "v"}})
    core.delete_namespaced_config_map("a", "default")
    changes = _events(
        core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=5
    )
    marks = _events(
        core.list_namespaced_config_map,
        "default",
        resource_version=str(threaded.call(lambda: threaded.standin.resource_version)),
        allow_watch_bookmarks=True,
        timeout_seconds=5,
    )
    assert changes == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]
    assert marks == [("BOOKMARK", "")]


def test_watch_410_then_relist(sync_api: client.ApiClient, threaded: ThreadedKubeStandIn) -> None:
    core = client.CoreV1Api(sync_api)
    stale = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", configmap("a"))
    threaded.call(threaded.standin.expire_history)
    with pytest.raises(ApiException) as caught:
        _events(
            core.list_namespaced_config_map, "default", resource_version=stale, timeout_seconds=5
        )
    relisted = core.list_namespaced_config_map("default")
    core.delete_namespaced_config_map("a", "default")
    after = _events(
        core.list_namespaced_config_map,
        "default",
        resource_version=relisted.metadata.resource_version,
        timeout_seconds=5,
    )
    assert caught.value.status == 410
    assert after == [("DELETED", "a")]


def test_finalizer_holds_deletion_until_removed(sync_api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(sync_api)
    body = app_project("p")
    body["metadata"]["finalizers"] = ["resources-finalizer.argocd.argoproj.io"]
    custom.create_namespaced_custom_object(*PROJECTS, body)
    custom.delete_namespaced_custom_object(*PROJECTS, "p")
    held = custom.get_namespaced_custom_object(*PROJECTS, "p")
    custom.patch_namespaced_custom_object(
        *PROJECTS, "p", {"metadata": {"finalizers": None}}, _content_type=MERGE
    )
    with pytest.raises(ApiException) as caught:
        custom.get_namespaced_custom_object(*PROJECTS, "p")
    assert held["metadata"]["deletionTimestamp"]
    assert caught.value.status == 404


def test_hooks_run_in_the_server_thread(
    sync_api: client.ApiClient, threaded: ThreadedKubeStandIn
) -> None:
    threaded.call(threaded.standin.fail_next_write, 409)
    core = client.CoreV1Api(sync_api)
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map("default", configmap("a"))
    assert caught.value.status == 409
