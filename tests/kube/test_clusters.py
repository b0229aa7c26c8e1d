"""`ClusterClients`: one client per member cluster, made from its kubeconfig and made again
after `forget`, against two Kubernetes stand-ins over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from libs.kube.clusters import ClusterClients
from sandbox.kube import KubeStandIn


@pytest.fixture
async def servers() -> AsyncIterator[tuple[KubeStandIn, KubeStandIn]]:
    before, after = KubeStandIn("before"), KubeStandIn("after")
    await before.start()
    await after.start()
    for standin in (before, after):
        name = f"only-in-{standin.name}"
        standin.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield before, after
    await before.stop()
    await after.stop()


async def namespaces(clients: ClusterClients) -> set[str]:
    listed = await (await clients.core("member")).list_namespace()
    return {item.metadata.name for item in listed.items}


async def test_a_forgotten_cluster_is_reached_with_its_new_kubeconfig(
    servers: tuple[KubeStandIn, KubeStandIn],
) -> None:
    before, after = servers
    registered = {"member": before.kubeconfig_text()}
    clients = ClusterClients(lambda cluster: asyncio.sleep(0, registered[cluster]))
    try:
        assert "only-in-before" in await namespaces(clients)

        registered["member"] = after.kubeconfig_text()
        assert "only-in-before" in await namespaces(clients)  # kept until forgotten
        await clients.forget("member")

        assert "only-in-after" in await namespaces(clients)
    finally:
        await clients.close()


async def test_a_client_made_while_its_cluster_is_forgotten_is_made_again(
    servers: tuple[KubeStandIn, KubeStandIn],
) -> None:
    before, after = servers
    registered = {"member": before.kubeconfig_text()}
    reading, read = asyncio.Event(), asyncio.Event()

    async def slow_loader(cluster: str) -> str:
        kubeconfig = registered[cluster]  # read before the cluster is registered again
        reading.set()
        await read.wait()
        return kubeconfig

    clients = ClusterClients(slow_loader)
    try:
        made = asyncio.create_task(namespaces(clients))
        await reading.wait()
        registered["member"] = after.kubeconfig_text()
        await clients.forget("member")
        read.set()

        assert "only-in-after" in await made
    finally:
        await clients.close()
