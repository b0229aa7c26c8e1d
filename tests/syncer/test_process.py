"""The syncer process: health, readiness and metrics on its HTTP port."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from libs.devops_client import DevopsClient
from sandbox.kube import KubeStandIn
from services.devops_server.app import DevopsServer
from services.syncer.app import Syncer, SyncerOptions
from tests.conftest import eventually, free_port, stack_settings
from tests.syncer.conftest import SyncerFactory, new_workspace


def http(syncer: Syncer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{syncer.http_port}")


async def test_syncer_answers_health_and_metrics() -> None:
    syncer = Syncer(stack_settings("postgresql://unused", syncer_http_port=0))
    await syncer.start()
    try:
        async with http(syncer) as client:
            health = await client.get("/healthz")
            metrics = await client.get("/metrics")
    finally:
        await syncer.stop()

    assert health.json() == {"status": "ok"}
    assert "python_info" in metrics.text


async def test_without_a_control_plane_the_syncer_only_serves_health_and_is_ready() -> None:
    syncer = Syncer(stack_settings("postgresql://unused", syncer_http_port=0))
    await syncer.start()
    try:
        async with http(syncer) as client:
            ready = await client.get("/readyz")
    finally:
        await syncer.stop()

    assert ready.status_code == 200
    assert syncer.elector is None


async def test_leader_is_ready_once_its_first_full_sync_is_done(syncer: Syncer) -> None:
    async with http(syncer) as client:
        ready = await client.get("/readyz")

    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


async def test_leader_that_cannot_read_tenancy_is_not_ready(make_syncer: SyncerFactory) -> None:
    syncer = await make_syncer(wait_ready=False, devops_address=f"127.0.0.1:{free_port()}")
    await eventually(lambda: syncer.elector is not None and syncer.elector.is_leader)
    await asyncio.sleep(0.3)

    async with http(syncer) as client:
        ready = await client.get("/readyz")

    assert ready.status_code == 503
    assert ready.json() == {"status": "syncing"}


async def test_metrics_report_leadership_queues_and_repairs(
    sdk: DevopsClient, make_syncer: SyncerFactory
) -> None:
    syncer = await make_syncer("syncer-metrics")
    await new_workspace(sdk)
    await eventually(lambda: syncer.writes >= 2)

    async with http(syncer) as client:
        text = (await client.get("/metrics")).text

    assert 'workbench_controller_leader{identity="syncer-metrics"} 1.0' in text
    assert 'workbench_controller_queue_depth{controller="argocd-appproject"}' in text
    assert 'workbench_controller_reconciles_total{controller="kubevela-namespace"' in text
    assert 'workbench_syncer_repairs_total{action="created",provider="argocd-appproject"}' in text


async def test_syncer_waits_for_its_kubeconfig_file_to_appear(
    devops: DevopsServer, control_plane: KubeStandIn, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "later.yaml"
    settings = stack_settings(
        "postgresql://unused",
        syncer_http_port=0,
        devops_address=f"127.0.0.1:{devops.grpc_port}",
        internal_token=devops.settings.internal_token,
        control_plane_kubeconfig=kubeconfig,
    )
    syncer = Syncer(settings, SyncerOptions(retry_seconds=0.1, identity="late"))
    await syncer.start()
    try:
        await asyncio.sleep(0.3)
        assert syncer.elector is None

        control_plane.write_kubeconfig(kubeconfig)

        await eventually(lambda: syncer.elector is not None and syncer.elector.is_leader)
    finally:
        await syncer.stop()
