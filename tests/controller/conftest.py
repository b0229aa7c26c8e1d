"""Fixtures: a control-plane Kubernetes stand-in per test and a kubernetes-asyncio client.

The leader-election and watch tests talk to `sandbox.kube` over HTTP exactly as the syncer
talks to a real API server; queue and controller tests need nothing but the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import config as aconfig
from prometheus_client import REGISTRY

from sandbox.kube import KubeStandIn

TOKEN = "controller-test-token"


@pytest.fixture
async def control_plane() -> AsyncIterator[KubeStandIn]:
    standin = KubeStandIn("control-plane", control_plane=True, token=TOKEN, bookmark_interval=0.2)
    await standin.start()
    yield standin
    await standin.stop()


@pytest.fixture
async def api(control_plane: KubeStandIn) -> AsyncIterator[aclient.ApiClient]:
    api_client = await aconfig.new_client_from_config_dict(control_plane.kubeconfig())
    yield api_client
    await api_client.close()


@pytest.fixture
def metric() -> Callable[..., float]:
    """The current value of a sample in the default registry (0 when absent)."""

    def read(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    return read
