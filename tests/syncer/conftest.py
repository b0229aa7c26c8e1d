"""Fixtures: a real devops-server, a control-plane and a member cluster stand-in, syncers.

The syncer reads tenancy through devops-server's SDK over real gRPC (a fresh database per
test) and writes into a control-plane `KubeStandIn` over HTTP, exactly as in production. The
member cluster is registered in devops-server so bindings have a server URL; nothing is
written into it.

Timings are short: a 3 s lease renewed every 0.3 s, so a standby takes over within about
three seconds. (A leader steps down when it has not renewed for two thirds of the lease: with
less than 3 s, a stall of the one event loop every test process shares would be enough.)
The resync period is long (60 s) by default, so a test that sees a change
converge proves the change stream or the watch brought it, not the resync; tests about the
resync ask for a short one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import config as aconfig
from kubernetes_asyncio.client.exceptions import ApiException
from prometheus_client import REGISTRY
from workbench_sdk.devops.v1 import tenancy_pb2 as pb

from libs.devops_client import DevopsClient
from sandbox.kube import KubeStandIn
from services.devops_server.app import DevopsServer
from services.syncer.app import Syncer, SyncerOptions
from tests.conftest import eventually, stack_settings

ARGOCD = "argocd"
MEMBER = "member-1"

SyncerFactory = Callable[..., Awaitable[Syncer]]


@pytest.fixture
async def devops(database_url: str) -> AsyncIterator[DevopsServer]:
    server = DevopsServer(stack_settings(database_url))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def sdk(devops: DevopsServer) -> AsyncIterator[DevopsClient]:
    assert devops.settings.internal_token
    client = DevopsClient(f"127.0.0.1:{devops.grpc_port}", devops.settings.internal_token)
    yield client
    await client.close()


@pytest.fixture
async def control_plane() -> AsyncIterator[KubeStandIn]:
    standin = KubeStandIn("control-plane", control_plane=True, bookmark_interval=0.2)
    await standin.start()
    yield standin
    await standin.stop()


@pytest.fixture
async def core(control_plane: KubeStandIn) -> AsyncIterator[aclient.CoreV1Api]:
    """The control plane's core API, its `workbench-system` namespace made."""
    api = await aconfig.new_client_from_config_dict(control_plane.kubeconfig())
    core = aclient.CoreV1Api(api)
    try:
        await core.create_namespace(
            aclient.V1Namespace(metadata=aclient.V1ObjectMeta(name="workbench-system"))
        )
    except ApiException as error:
        assert error.status == 409
    yield core
    await api.close()


@pytest.fixture
async def member(sdk: DevopsClient) -> AsyncIterator[KubeStandIn]:
    standin = KubeStandIn(MEMBER)
    await standin.start()
    request = pb.RegisterClusterRequest(name=MEMBER, kubeconfig=standin.kubeconfig_text())
    await sdk.call(sdk.tenancy.RegisterCluster, request)
    yield standin
    await standin.stop()


@pytest.fixture
async def make_syncer(
    devops: DevopsServer, control_plane: KubeStandIn, member: KubeStandIn, tmp_path: Path
) -> AsyncIterator[SyncerFactory]:
    """Start a syncer (`identity`, option overrides, `settings` overrides); every one is
    stopped at the end."""
    kubeconfig = control_plane.write_kubeconfig(tmp_path / "control-plane.yaml")
    started: list[Syncer] = []

    async def make(
        identity: str = "syncer-a",
        *,
        wait_ready: bool = True,
        devops_address: str | None = None,
        settings: dict[str, Any] | None = None,
        **options: Any,
    ) -> Syncer:
        configured = stack_settings(
            devops.settings.database_url or "",
            devops_address=devops_address or f"127.0.0.1:{devops.grpc_port}",
            syncer_http_port=0,  # any free port, chosen when it binds: no race
            internal_token=devops.settings.internal_token,
            control_plane_kubeconfig=kubeconfig,
            argocd_namespace=ARGOCD,
            **(settings or {}),
        )
        values: dict[str, Any] = {
            "resync_seconds": 60.0,
            "lease_seconds": 3.0,
            "renew_seconds": 0.3,
            "retry_seconds": 0.2,
            "backoff_base": 0.05,
            "backoff_cap": 1.0,
            "identity": identity,
        }
        values.update(options)
        syncer = Syncer(configured, SyncerOptions(**values))
        await syncer.start()
        started.append(syncer)
        if wait_ready:
            await eventually(lambda: syncer.elector is not None and syncer.elector.is_leader)
            await eventually(lambda: syncer.ready)
        return syncer

    yield make
    for syncer in started:
        await syncer.stop()


@pytest.fixture
async def syncer(make_syncer: SyncerFactory) -> Syncer:
    return await make_syncer()


# Reading and writing tenancy and the control plane in tests.


async def new_workspace(sdk: DevopsClient, alias: str = "team") -> int:
    created = await sdk.call(sdk.tenancy.CreateWorkspace, pb.CreateWorkspaceRequest(alias=alias))
    workspace_id: int = created.id
    return workspace_id


async def bind(sdk: DevopsClient, workspace_id: int, namespace: str) -> None:
    binding = pb.Binding(workspace_id=workspace_id, cluster=MEMBER, namespace=namespace)
    await sdk.call(sdk.tenancy.BindNamespace, binding)


async def unbind(sdk: DevopsClient, workspace_id: int, namespace: str) -> None:
    binding = pb.Binding(workspace_id=workspace_id, cluster=MEMBER, namespace=namespace)
    await sdk.call(sdk.tenancy.UnbindNamespace, binding)


def appproject(standin: KubeStandIn, workspace_id: int) -> dict[str, Any] | None:
    return standin.get_object(
        "argoproj.io/v1alpha1", "AppProject", f"workspace-{workspace_id}", ARGOCD
    )


def oam_namespace(standin: KubeStandIn, workspace_id: int) -> dict[str, Any] | None:
    return standin.get_object("v1", "Namespace", f"workspace-{workspace_id}-oam")


def destinations(standin: KubeStandIn, workspace_id: int) -> set[tuple[str, str]] | None:
    """(server, namespace) of each destination of the workspace's AppProject; None if none."""
    project = appproject(standin, workspace_id)
    if project is None:
        return None
    return {(item["server"], item["namespace"]) for item in project["spec"]["destinations"]}


def labelled(obj: dict[str, Any] | None, workspace_id: int) -> bool:
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return bool(labels.get("workbench.io/workspace") == str(workspace_id))


def reconciles(controller: str) -> float:
    """Successful reconciles of `controller` so far, in this process (resyncs included)."""
    labels = {"controller": controller, "result": "success"}
    return REGISTRY.get_sample_value("workbench_controller_reconciles_total", labels) or 0.0
