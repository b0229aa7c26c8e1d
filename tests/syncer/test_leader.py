"""Two syncers: only the leader reconciles; the standby takes over when the leader stops; a
leader whose Lease calls hang stops reconciling before its lease runs out."""

from __future__ import annotations

import asyncio

from libs.devops_client import DevopsClient
from sandbox.kube import KubeStandIn
from services.syncer.app import LEASE_NAME, LEASE_NAMESPACE, Syncer
from tests.conftest import eventually
from tests.syncer.conftest import SyncerFactory, appproject, new_workspace, oam_namespace

LEASE_SECONDS = 3.0
LEASES = "leases.coordination.k8s.io"


async def pair(make_syncer: SyncerFactory, **options: float) -> tuple[Syncer, Syncer]:
    leader = await make_syncer("syncer-a", **options)
    standby = await make_syncer("syncer-b", wait_ready=False, **options)
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

    # Counted once the answer is back, which may be after the stand-in shows the object.
    await eventually(lambda: leader.writes >= 2)
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

    await eventually(lambda: appproject(control_plane, workspace) is not None, within=15)
    assert standby.elector is not None and standby.elector.is_leader
    assert loop.time() - stopped < LEASE_SECONDS + 3
    assert standby.writes >= 1


async def test_released_lease_is_taken_over_at_the_next_retry(
    control_plane: KubeStandIn, make_syncer: SyncerFactory
) -> None:
    # A lease far longer than the wait: only the release lets the standby lead in time.
    leader, standby = await pair(make_syncer, lease_seconds=60.0)

    await leader.stop()

    await eventually(lambda: standby.elector is not None and standby.elector.is_leader)


async def test_a_leader_whose_lease_calls_hang_stops_reconciling_before_its_lease_expires(
    sdk: DevopsClient, control_plane: KubeStandIn, make_syncer: SyncerFactory
) -> None:
    leader = await make_syncer("syncer-a")
    assert leader.elector is not None
    loop = asyncio.get_running_loop()

    control_plane.slow_requests(60, resource=LEASES)  # every Lease call hangs
    hung = loop.time()

    # The last renewal was at most a renew period (0.3 s) before: the lease is good for
    # 2.7 s more at least, and the leader is gone by the renew deadline, 2 s at most.
    await eventually(lambda: leader.reconcilers is None)
    assert loop.time() - hung < LEASE_SECONDS - 0.3
    assert not leader.elector.is_leader
    workspace = await new_workspace(sdk)
    await asyncio.sleep(0.5)
    assert appproject(control_plane, workspace) is None  # nobody reconciles
    control_plane.clear_faults()
    await eventually(lambda: appproject(control_plane, workspace) is not None)
