"""The status split on kinds that have `/status`, its absence on Argo CD's, and `/scale`."""

from __future__ import annotations

import pytest
from kubernetes_asyncio import client as aclient

from tests.sandbox.kube.conftest import app_project, deployment, rollout

MERGE = "application/merge-patch+json"
ROLLOUTS = ("argoproj.io", "v1alpha1", "default", "rollouts")
PROJECTS = ("argoproj.io", "v1alpha1", "argocd", "appprojects")


async def test_create_drops_status_when_status_is_a_subresource(
    custom: aclient.CustomObjectsApi,
) -> None:
    body = rollout("r") | {"status": {"phase": "Healthy"}}
    created = await custom.create_namespaced_custom_object(*ROLLOUTS, body)
    assert "status" not in created


async def test_main_resource_ignores_status_changes(custom: aclient.CustomObjectsApi) -> None:
    await custom.create_namespaced_custom_object(*ROLLOUTS, rollout("r"))
    patched = await custom.patch_namespaced_custom_object(
        *ROLLOUTS, "r", {"spec": {"paused": True}, "status": {"abort": True}}, _content_type=MERGE
    )
    assert patched["spec"]["paused"] is True and "status" not in patched


async def test_status_subresource_ignores_spec_changes(custom: aclient.CustomObjectsApi) -> None:
    await custom.create_namespaced_custom_object(*ROLLOUTS, rollout("r", replicas=2))
    patched = await custom.patch_namespaced_custom_object_status(
        *ROLLOUTS, "r", {"spec": {"replicas": 9}, "status": {"abort": True}}, _content_type=MERGE
    )
    assert patched["status"] == {"abort": True} and patched["spec"]["replicas"] == 2


async def test_status_write_does_not_bump_generation(custom: aclient.CustomObjectsApi) -> None:
    await custom.create_namespaced_custom_object(*ROLLOUTS, rollout("r"))
    patched = await custom.patch_namespaced_custom_object_status(
        *ROLLOUTS, "r", {"status": {"phase": "Paused"}}, _content_type=MERGE
    )
    assert patched["metadata"]["generation"] == 1


async def test_status_is_written_through_the_main_resource_without_subresource(
    custom: aclient.CustomObjectsApi,
) -> None:
    await custom.create_namespaced_custom_object(*PROJECTS, app_project("p"))
    patched = await custom.patch_namespaced_custom_object(
        *PROJECTS, "p", {"status": {"jwtTokensByRole": {}}}, _content_type=MERGE
    )
    assert patched["status"] == {"jwtTokensByRole": {}}


async def test_status_path_of_kind_without_subresource_is_404(
    custom: aclient.CustomObjectsApi,
) -> None:
    await custom.create_namespaced_custom_object(*PROJECTS, app_project("p"))
    with pytest.raises(aclient.ApiException) as caught:
        await custom.patch_namespaced_custom_object_status(
            *PROJECTS, "p", {"status": {}}, _content_type=MERGE
        )
    assert caught.value.status == 404


async def test_deployment_status_replace_keeps_spec(apps: aclient.AppsV1Api) -> None:
    created = await apps.create_namespaced_deployment("default", deployment("web"))
    created.spec.replicas = 5
    created.status = aclient.V1DeploymentStatus(ready_replicas=1)
    replaced = await apps.replace_namespaced_deployment_status("web", "default", created)
    assert replaced.spec.replicas == 1 and replaced.status.ready_replicas == 1


async def test_scale_subresource_reads_and_sets_replicas(apps: aclient.AppsV1Api) -> None:
    await apps.create_namespaced_deployment("default", deployment("web", replicas=2))
    scale = await apps.read_namespaced_deployment_scale("web", "default")
    await apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 4}})
    fetched = await apps.read_namespaced_deployment("web", "default")
    assert scale.spec.replicas == 2 and scale.status.selector == "app=web"
    assert fetched.spec.replicas == 4


async def test_rollout_scale_uses_the_crd_selector_path(
    custom: aclient.CustomObjectsApi,
) -> None:
    await custom.create_namespaced_custom_object(*ROLLOUTS, rollout("r", replicas=2))
    await custom.patch_namespaced_custom_object_status(
        *ROLLOUTS, "r", {"status": {"selector": "app=r", "replicas": 2}}, _content_type=MERGE
    )
    scale = await custom.patch_namespaced_custom_object_scale(
        *ROLLOUTS, "r", {"spec": {"replicas": 5}}, _content_type=MERGE
    )
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 5
    assert scale["status"] == {"replicas": 2, "selector": "app=r"}
