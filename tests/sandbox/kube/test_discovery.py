"""Discovery, authentication, installed kinds per cluster role, and the kubeconfig helper."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import config as aconfig

from sandbox.kube import KubeStandIn
from sandbox.kube.crds import MEMBER
from tests.sandbox.kube.conftest import TOKEN, raw


async def _get(standin: KubeStandIn, path: str, token: str | None = TOKEN) -> tuple[int, Any]:
    return await raw(standin, "GET", path, token=token)


async def test_core_group_lists_v1(cluster: KubeStandIn) -> None:
    api = await _client(cluster)
    versions = await aclient.CoreApi(api).get_api_versions()
    await api.close()
    assert versions.versions == ["v1"]


async def _client(standin: KubeStandIn) -> aclient.ApiClient:
    return await aconfig.new_client_from_config_dict(standin.kubeconfig())


async def test_core_resource_list_has_namespaced_flags_and_status_subresources(
    cluster: KubeStandIn,
) -> None:
    status, body = await _get(cluster, "/api/v1")
    names = {r["name"]: r for r in body["resources"]}
    assert status == 200 and body["kind"] == "APIResourceList"
    assert names["namespaces"]["namespaced"] is False
    assert names["secrets"]["namespaced"] is True
    assert "pods/status" in names and "secrets/status" not in names
    assert names["services"]["shortNames"] == ["svc"]


async def test_control_plane_serves_argo_cd_rollouts_and_kubevela(
    control_plane: KubeStandIn,
) -> None:
    api = await _client(control_plane)
    groups = {g.name for g in (await aclient.ApisApi(api).get_api_versions()).groups}
    await api.close()
    assert {"argoproj.io", "core.oam.dev", "app.k8s.io", "apps"} <= groups


async def test_argo_cd_kinds_have_no_status_subresource_but_rollouts_do(
    control_plane: KubeStandIn,
) -> None:
    _, body = await _get(control_plane, "/apis/argoproj.io/v1alpha1")
    names = {r["name"] for r in body["resources"]}
    assert {"applications", "appprojects", "rollouts", "rollouts/status", "rollouts/scale"} <= names
    assert "appprojects/status" not in names and "applications/status" not in names


async def test_member_cluster_has_rollouts_but_not_argo_cd(cluster: KubeStandIn) -> None:
    _, body = await _get(cluster, "/apis/argoproj.io/v1alpha1")
    names = {r["name"] for r in body["resources"]}
    assert "rollouts" in names and "appprojects" not in names


async def test_unknown_group_is_404_status(cluster: KubeStandIn) -> None:
    status, body = await _get(cluster, "/apis/nope.example.com/v1")
    assert status == 404 and body["reason"] == "NotFound" and body["kind"] == "Status"


async def test_group_document_names_preferred_version(control_plane: KubeStandIn) -> None:
    _, body = await _get(control_plane, "/apis/core.oam.dev")
    assert body["kind"] == "APIGroup"
    assert body["preferredVersion"]["groupVersion"] == "core.oam.dev/v1beta1"


async def test_default_namespaces_exist_as_on_a_real_cluster(
    core: aclient.CoreV1Api,
) -> None:
    names = {n.metadata.name for n in (await core.list_namespace()).items}
    assert {"default", "kube-system", "kube-public"} <= names
    assert "argocd" not in names


async def test_control_plane_has_the_argocd_namespace(control_plane: KubeStandIn) -> None:
    api = await _client(control_plane)
    namespace = await aclient.CoreV1Api(api).read_namespace("argocd")
    await api.close()
    assert namespace.status.phase == "Active"
    assert namespace.metadata.labels["kubernetes.io/metadata.name"] == "argocd"


async def test_missing_token_is_401_unauthorized(cluster: KubeStandIn) -> None:
    status, body = await _get(cluster, "/api/v1/namespaces", token=None)
    assert status == 401 and body["reason"] == "Unauthorized"


async def test_wrong_token_is_rejected_by_the_client_as_401(cluster: KubeStandIn) -> None:
    config = cluster.kubeconfig()
    config["users"][0]["user"]["token"] = "wrong"
    api = await aconfig.new_client_from_config_dict(config)
    with pytest.raises(aclient.ApiException) as caught:
        await aclient.CoreV1Api(api).list_namespace()
    await api.close()
    assert caught.value.status == 401


async def test_version_is_public(cluster: KubeStandIn) -> None:
    status, body = await _get(cluster, "/version", token=None)
    assert status == 200 and body["major"] == "1"


async def test_written_kubeconfig_is_private_and_usable(
    cluster: KubeStandIn, tmp_path: Path
) -> None:
    path = cluster.write_kubeconfig(tmp_path / "kube" / "member-1.yaml")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = yaml.safe_load(path.read_text())
    assert loaded["clusters"][0]["cluster"]["server"] == cluster.url
    api = await aconfig.new_client_from_config_dict(loaded)
    namespace = await aclient.CoreV1Api(api).read_namespace("default")
    await api.close()
    assert namespace.metadata.name == "default"


async def test_crd_created_through_the_api_becomes_a_served_kind(
    api: aclient.ApiClient, cluster: KubeStandIn
) -> None:
    from sandbox.kube.crds import crd

    manifest = crd("example.com", "Widget", "widgets", versions=("v1",), status=True)
    await aclient.ApiextensionsV1Api(api).create_custom_resource_definition(manifest)
    custom = aclient.CustomObjectsApi(api)
    body = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    created = await custom.create_namespaced_custom_object(
        "example.com", "v1", "default", "widgets", body
    )
    assert created["metadata"]["uid"]
    _, listing = await _get(cluster, "/apis/example.com/v1")
    assert {r["name"] for r in listing["resources"]} == {"widgets", "widgets/status"}


async def test_deleting_a_crd_removes_its_kind(
    api: aclient.ApiClient, cluster: KubeStandIn
) -> None:
    await aclient.ApiextensionsV1Api(api).delete_custom_resource_definition("rollouts.argoproj.io")
    status, _ = await _get(cluster, "/apis/argoproj.io/v1alpha1/rollouts")
    assert status == 404


async def test_deleting_a_crd_deletes_its_objects(
    api: aclient.ApiClient, cluster: KubeStandIn
) -> None:
    cluster.seed(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "metadata": {"name": "r", "namespace": "default"},
        }
    )
    await aclient.ApiextensionsV1Api(api).delete_custom_resource_definition("rollouts.argoproj.io")
    await aclient.ApiextensionsV1Api(api).create_custom_resource_definition(
        next(c for c in MEMBER if c["spec"]["names"]["kind"] == "Rollout")
    )
    status, body = await _get(cluster, "/apis/argoproj.io/v1alpha1/rollouts")
    assert status == 200 and body["items"] == []


async def test_kubeconfig_text_is_the_yaml_of_the_kubeconfig(cluster: KubeStandIn) -> None:
    loaded = yaml.safe_load(cluster.kubeconfig_text())
    assert loaded == cluster.kubeconfig()
    assert loaded["users"][0]["user"]["token"] == TOKEN
