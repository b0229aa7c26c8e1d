"""Create, get, replace and delete with kubernetes-asyncio, and the Status errors they meet."""

from __future__ import annotations

import json

import pytest
from kubernetes_asyncio import client as aclient

from sandbox.kube import KubeStandIn
from tests.sandbox.kube.conftest import app_project, configmap, deployment


def _status(exc: aclient.ApiException) -> dict:
    body: dict = json.loads(exc.body)
    return body


async def test_create_sets_server_fields(core: aclient.CoreV1Api) -> None:
    created = await core.create_namespaced_config_map("default", configmap("a", k="v"))
    meta = created.metadata
    assert meta.uid and meta.resource_version and meta.creation_timestamp
    assert meta.generation == 1 and meta.namespace == "default"


async def test_create_answers_201(core: aclient.CoreV1Api) -> None:
    _, status, _ = await core.create_namespaced_config_map_with_http_info("default", configmap("a"))
    assert status == 201


async def test_generate_name_gets_a_random_suffix(core: aclient.CoreV1Api) -> None:
    body = {"metadata": {"generateName": "run-"}, "data": {}}
    first = await core.create_namespaced_config_map("default", body)
    second = await core.create_namespaced_config_map("default", body)
    assert first.metadata.name.startswith("run-") and len(first.metadata.name) == 9
    assert first.metadata.name != second.metadata.name


async def test_create_of_existing_name_is_409_already_exists(core: aclient.CoreV1Api) -> None:
    await core.create_namespaced_config_map("default", configmap("a"))
    with pytest.raises(aclient.ApiException) as caught:
        await core.create_namespaced_config_map("default", configmap("a"))
    status = _status(caught.value)
    assert caught.value.status == 409 and status["reason"] == "AlreadyExists"
    assert status["message"] == 'configmaps "a" already exists'


async def test_get_of_missing_object_is_404_with_details(apps: aclient.AppsV1Api) -> None:
    with pytest.raises(aclient.ApiException) as caught:
        await apps.read_namespaced_deployment("nope", "default")
    status = _status(caught.value)
    assert caught.value.status == 404 and status["reason"] == "NotFound"
    assert status["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}
    assert status["message"] == 'deployments.apps "nope" not found'


async def test_create_in_missing_namespace_is_404(core: aclient.CoreV1Api) -> None:
    with pytest.raises(aclient.ApiException) as caught:
        await core.create_namespaced_config_map("ghost", configmap("a"))
    assert caught.value.status == 404
    assert _status(caught.value)["message"] == 'namespaces "ghost" not found'


async def test_invalid_name_is_422_invalid_with_cause(core: aclient.CoreV1Api) -> None:
    with pytest.raises(aclient.ApiException) as caught:
        await core.create_namespaced_config_map("default", configmap("Not_Valid"))
    status = _status(caught.value)
    assert caught.value.status == 422 and status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "metadata.name"


async def test_body_namespace_must_match_the_url(core: aclient.CoreV1Api) -> None:
    body = configmap("a")
    body["metadata"]["namespace"] = "kube-system"
    with pytest.raises(aclient.ApiException) as caught:
        await core.create_namespaced_config_map("default", body)
    assert caught.value.status == 400 and _status(caught.value)["reason"] == "BadRequest"


async def test_replace_with_stale_resource_version_is_409_conflict(
    core: aclient.CoreV1Api,
) -> None:
    created = await core.create_namespaced_config_map("default", configmap("a", k="1"))
    created.data = {"k": "2"}
    await core.replace_namespaced_config_map("a", "default", created)
    created.data = {"k": "3"}
    with pytest.raises(aclient.ApiException) as caught:
        await core.replace_namespaced_config_map("a", "default", created)
    assert caught.value.status == 409 and _status(caught.value)["reason"] == "Conflict"


async def test_replace_changes_resource_version_every_time(core: aclient.CoreV1Api) -> None:
    created = await core.create_namespaced_config_map("default", configmap("a", k="1"))
    created.data = {"k": "2"}
    replaced = await core.replace_namespaced_config_map("a", "default", created)
    assert replaced.metadata.resource_version != created.metadata.resource_version
    assert replaced.data == {"k": "2"}


async def test_write_that_changes_nothing_keeps_resource_version(
    core: aclient.CoreV1Api,
) -> None:
    created = await core.create_namespaced_config_map("default", configmap("a", k="1"))
    again = await core.replace_namespaced_config_map("a", "default", created)
    assert again.metadata.resource_version == created.metadata.resource_version


async def test_generation_grows_on_spec_changes_only(apps: aclient.AppsV1Api) -> None:
    created = await apps.create_namespaced_deployment("default", deployment("web"))
    labelled = await apps.patch_namespaced_deployment(
        "web", "default", {"metadata": {"labels": {"x": "y"}}}
    )
    scaled = await apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 3}})
    assert created.metadata.generation == labelled.metadata.generation == 1
    assert scaled.metadata.generation == 2


async def test_custom_resource_replace_without_resource_version_is_422(
    custom: aclient.CustomObjectsApi,
) -> None:
    await custom.create_namespaced_custom_object(
        "argoproj.io", "v1alpha1", "argocd", "appprojects", app_project("p")
    )
    with pytest.raises(aclient.ApiException) as caught:
        await custom.replace_namespaced_custom_object(
            "argoproj.io", "v1alpha1", "argocd", "appprojects", "p", app_project("p")
        )
    status = _status(caught.value)
    assert caught.value.status == 422
    assert "must be specified for an update" in status["message"]


async def test_custom_resource_crud_round_trip(custom: aclient.CustomObjectsApi) -> None:
    args = ("argoproj.io", "v1alpha1", "argocd", "appprojects")
    created = await custom.create_namespaced_custom_object(*args, app_project("p"))
    created["spec"]["description"] = "team a"
    replaced = await custom.replace_namespaced_custom_object(*args, "p", created)
    fetched = await custom.get_namespaced_custom_object(*args, "p")
    deleted = await custom.delete_namespaced_custom_object(*args, "p")
    listed = await custom.list_namespaced_custom_object(*args)
    assert replaced["metadata"]["generation"] == 2
    assert fetched["spec"]["description"] == "team a"
    assert deleted["kind"] == "Status" and deleted["status"] == "Success"
    assert listed["items"] == [] and listed["kind"] == "AppProjectList"


async def test_custom_resource_without_kind_is_400(custom: aclient.CustomObjectsApi) -> None:
    body = app_project("p")
    del body["kind"]
    with pytest.raises(aclient.ApiException) as caught:
        await custom.create_namespaced_custom_object(
            "argoproj.io", "v1alpha1", "argocd", "appprojects", body
        )
    assert caught.value.status == 400


async def test_delete_of_configmap_answers_status_success(core: aclient.CoreV1Api) -> None:
    await core.create_namespaced_config_map("default", configmap("a"))
    result = await core.delete_namespaced_config_map("a", "default")
    assert result.status == "Success" and result.details.name == "a"


async def test_delete_of_pod_answers_the_pod(core: aclient.CoreV1Api) -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    await core.create_namespaced_pod("default", pod)
    result = await core.delete_namespaced_pod("p", "default")
    assert result.kind == "Pod" and result.metadata.name == "p"


async def test_delete_of_missing_object_is_404(core: aclient.CoreV1Api) -> None:
    with pytest.raises(aclient.ApiException) as caught:
        await core.delete_namespaced_secret("nope", "default")
    assert caught.value.status == 404


async def test_delete_precondition_on_uid_is_409(core: aclient.CoreV1Api) -> None:
    await core.create_namespaced_config_map("default", configmap("a"))
    options = aclient.V1DeleteOptions(preconditions=aclient.V1Preconditions(uid="other"))
    with pytest.raises(aclient.ApiException) as caught:
        await core.delete_namespaced_config_map("a", "default", body=options)
    assert caught.value.status == 409


async def test_secret_string_data_is_stored_base64_in_data(core: aclient.CoreV1Api) -> None:
    body = {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}
    created = await core.create_namespaced_secret("default", body)
    assert created.data == {"password": "aHVudGVyMg=="}
    assert created.string_data is None and created.type == "Opaque"


async def test_dry_run_create_stores_nothing(core: aclient.CoreV1Api, cluster: KubeStandIn) -> None:
    await core.create_namespaced_config_map("default", configmap("a"), dry_run="All")
    assert cluster.get_object("v1", "ConfigMap", "a") is None


async def test_cluster_scoped_create_and_get(core: aclient.CoreV1Api) -> None:
    await core.create_namespace({"metadata": {"name": "team-a"}})
    namespace = await core.read_namespace("team-a")
    assert namespace.status.phase == "Active" and namespace.spec.finalizers == ["kubernetes"]


async def test_lease_round_trip_for_leader_election(api: aclient.ApiClient) -> None:
    leases = aclient.CoordinationV1Api(api)
    body = {"metadata": {"name": "syncer"}, "spec": {"holderIdentity": "a"}}
    created = await leases.create_namespaced_lease("kube-system", body)
    created.spec.holder_identity = "b"
    replaced = await leases.replace_namespaced_lease("syncer", "kube-system", created)
    assert replaced.spec.holder_identity == "b"
