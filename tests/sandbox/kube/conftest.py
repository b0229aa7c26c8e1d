"""Fixtures: fresh stand-in clusters on free ports, and clients that know nothing about them.

Every test gets its own cluster (starting one takes a few milliseconds), so no test sees
another's objects. The asynchronous fixtures drive it with kubernetes-asyncio configured from
the kubeconfig the stand-in writes, exactly as Workbench does; the synchronous ones run the
stand-in in a thread and use the official `kubernetes` client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import kubernetes
import pytest
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import config as aconfig

from sandbox.kube import KubeStandIn, ThreadedKubeStandIn

TOKEN = "test-token"
BOOKMARK_INTERVAL = 0.2


def configmap(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": data,
    }


def deployment(name: str, image: str = "nginx:1", replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {"name": "main", "image": image, "env": [{"name": "A", "value": "1"}]},
                        {"name": "sidecar", "image": "envoy:1"},
                    ]
                },
            },
        },
    }


def app_project(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name},
        "spec": spec or {"sourceRepos": ["*"]},
    }


def rollout(name: str, replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}},
    }


async def raw(
    standin: KubeStandIn,
    method: str,
    path: str,
    body: str | None = None,
    *,
    content_type: str = "application/json",
    token: str | None = TOKEN,
) -> tuple[int, Any]:
    """One HTTP request without a Kubernetes client: status and decoded JSON body."""
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, standin.url + path, data=body, headers=headers) as response,
    ):
        return response.status, await response.json(content_type=None)


@pytest.fixture
async def cluster() -> AsyncIterator[KubeStandIn]:
    """A member cluster."""
    standin = KubeStandIn("member-1", token=TOKEN, bookmark_interval=BOOKMARK_INTERVAL)
    await standin.start()
    yield standin
    await standin.stop()


@pytest.fixture
async def control_plane() -> AsyncIterator[KubeStandIn]:
    standin = KubeStandIn("control-plane", control_plane=True, token=TOKEN)
    await standin.start()
    yield standin
    await standin.stop()


@pytest.fixture
async def api(cluster: KubeStandIn) -> AsyncIterator[aclient.ApiClient]:
    api_client = await aconfig.new_client_from_config_dict(cluster.kubeconfig())
    yield api_client
    await api_client.close()


@pytest.fixture
async def cp_api(control_plane: KubeStandIn) -> AsyncIterator[aclient.ApiClient]:
    api_client = await aconfig.new_client_from_config_dict(control_plane.kubeconfig())
    yield api_client
    await api_client.close()


@pytest.fixture
def core(api: aclient.ApiClient) -> aclient.CoreV1Api:
    return aclient.CoreV1Api(api)


@pytest.fixture
def apps(api: aclient.ApiClient) -> aclient.AppsV1Api:
    return aclient.AppsV1Api(api)


@pytest.fixture
def custom(cp_api: aclient.ApiClient) -> aclient.CustomObjectsApi:
    """Custom objects on the control plane, where Argo CD is installed."""
    return aclient.CustomObjectsApi(cp_api)


@pytest.fixture
def threaded() -> Iterator[ThreadedKubeStandIn]:
    """A control-plane stand-in in its own thread, for the blocking client."""
    standin = KubeStandIn(
        "sync-cluster", control_plane=True, token=TOKEN, bookmark_interval=BOOKMARK_INTERVAL
    )
    with ThreadedKubeStandIn(standin) as running:
        yield running


@pytest.fixture
def sync_api(threaded: ThreadedKubeStandIn) -> Iterator[kubernetes.client.ApiClient]:
    api_client = kubernetes.config.new_client_from_config_dict(threaded.standin.kubeconfig())
    yield api_client
    api_client.close()
