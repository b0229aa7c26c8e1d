"""`skip_environment_lookups`, which the syncer applies to its control-plane client."""

from __future__ import annotations

import pytest
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import config as aconfig

from libs.kube.transport import PROXY_VARIABLES, skip_environment_lookups
from sandbox.kube import KubeStandIn


async def test_client_without_lookups_still_talks_to_the_cluster(
    control_plane: KubeStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    api = await aconfig.new_client_from_config_dict(control_plane.kubeconfig())
    try:
        assert skip_environment_lookups(api)
        assert not api.rest_client.pool_manager.trust_env

        listed = await aclient.CoreV1Api(api).list_namespace()
    finally:
        await api.close()

    assert "argocd" in {item.metadata.name for item in listed.items}


async def test_client_keeps_looking_up_a_configured_proxy(
    control_plane: KubeStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    api = await aconfig.new_client_from_config_dict(control_plane.kubeconfig())
    try:
        assert not skip_environment_lookups(api)
        assert api.rest_client.pool_manager.trust_env
    finally:
        await api.close()
