"""Two syncers: only the leader reconciles; the standby takes over when the leader stops."""

from __future__ import annotations

import asyncio

from libs.devops_client import DevopsClient
from sandbox.kube import KubeStandIn
from services.syncer.app import LEASE_NAME, LEASE_NAMESPACE, Syncer
from tests.syncer.conftest import (
    SyncerFactory,
    appproject,
    eventually,
    new_workspace,
    oam_namespace,
)

LEASE_SECONDS = 1.5


async def pair(make_syncer: SyncerFactory) -> tuple[Syncer, Syncer]:
    leader = await make_syncer("syncer-a")
    standby = await make_syncer("syncer-b", wait_ready=False)
    await asyncio.sleep(0.3)  # the standby has read the lease at least once
    assert standby.elector is not None and not standby.elector.is_leader
    return leader, standby


async def test_lease_names_the_leader_in_workbench_system(
    control_plane: KubeStandIn, syncer: Syncer
) -> None:
    lease = control_plane.get_object("coordination.k8s.io/v1", "Lease", LEASE_NAME, LEASE_NAMESPACE)

    assert lease is not None
    assert lease["spec"]["holderIdentity"] == "syncer-a"


async def test_only_the_leader_writes(
    sdk: DevopsClient, control_plane: KubeStandIn, make_syncer: SyncerFactory
) -> None:
    leader, standby = await pair(make_syncer)

    workspace = await new_workspace(sdk)
    await eventually(lambda: appproject(control_plane, workspace) is not None)
    await eventually(lambda: oam_namespace(control_plane, workspace) is not None)

    assert leader.writes >= 2
    assert standby.writes == 0
    assert standby.reconcilers is None
    assert standby.ready  # a standby has nothing to wait for


async def test_standby_takes_over_a_stopped_leader_and_converges_what_changed_meanwhile(
    sdk: DevopsClient, control_plane: KubeStandIn, make_syncer: SyncerFactory
) -> None:
    leader, standby = await pair(make_syncer)
    loop = asyncio.get_running_loop()

    await leader.stop(release=False)  # as if the process died: the lease must expire
    stopped = loop.time()
    workspace = await new_workspace(sdk)

    await eventually(lambda: appproject(control_plane, workspace) is not None, within=6)
    assert standby.elector is not None and standby.elector.is_leader
    assert loop.time() - stopped < LEASE_SECONDS + 3
    assert standby.writes >= 1


async def test_released_lease_is_taken_over_at_the_next_retry(
    control_plane: KubeStandIn, make_syncer: SyncerFactory
) -> None:
    leader, standby = await pair(make_syncer)
    loop = asyncio.get_running_loop()

    await leader.stop()
    stopped = loop.time()

    await eventually(lambda: standby.elector is not None and standby.elector.is_leader)
    assert loop.time() - stopped < 1.0
