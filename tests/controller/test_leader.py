"""LeaderElector against the Kubernetes stand-in: one leader, handover on release and on a
crash, a 409 on renew handled by reading again, and a leader whose Lease calls hang or
crawl stepping down by its renew deadline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from kubernetes_asyncio import client as aclient

from libs.controller import LeaderElector
from sandbox.kube import KubeStandIn

NAMESPACE = "kube-system"
LEASE = "workbench-syncer"
LEASES = "leases.coordination.k8s.io"
LEASE_SECONDS, RENEW_DEADLINE = 2.0, 1.5


def elector(
    api: aclient.ApiClient, identity: str, *, lease_seconds: float = LEASE_SECONDS
) -> LeaderElector:
    return LeaderElector(
        api,
        NAMESPACE,
        LEASE,
        identity,
        lease_seconds=lease_seconds,
        renew_seconds=0.3,
        retry_seconds=0.1,
        renew_deadline=RENEW_DEADLINE,
    )


@asynccontextmanager
async def campaigning(candidate: LeaderElector) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(candidate.run())
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def spec(cluster: KubeStandIn) -> dict[str, object]:
    lease = cluster.get_object("coordination.k8s.io/v1", "Lease", LEASE, NAMESPACE)
    assert lease is not None
    return dict(lease["spec"])


async def test_one_of_two_electors_leads(
    api: aclient.ApiClient, control_plane: KubeStandIn, metric: Callable[..., float]
) -> None:
    first, second = elector(api, "first"), elector(api, "second")
    async with campaigning(first), campaigning(second):
        await asyncio.wait_for(
            asyncio.wait(
                [
                    asyncio.create_task(first.wait_leading()),
                    asyncio.create_task(second.wait_leading()),
                ],
                return_when=asyncio.FIRST_COMPLETED,
            ),
            10,
        )
        await asyncio.sleep(0.8)  # several renewals and retries
        assert first.is_leader != second.is_leader
        leader = first if first.is_leader else second
        lease = spec(control_plane)
        assert lease["holderIdentity"] == leader.identity
        assert lease["leaseDurationSeconds"] == 2
        assert str(lease["renewTime"]).endswith("Z")
        assert metric("workbench_controller_leader", identity=leader.identity) == 1
        follower = second if leader is first else first
        assert metric("workbench_controller_leader", identity=follower.identity) == 0


async def test_release_hands_over_at_once(
    api: aclient.ApiClient, control_plane: KubeStandIn
) -> None:
    # A lease far longer than the wait below: only a release lets the second lead in time.
    first = elector(api, "first", lease_seconds=60)
    second = elector(api, "second", lease_seconds=60)
    first_task = asyncio.create_task(first.run())
    await asyncio.wait_for(first.wait_leading(), 10)

    async with campaigning(second):
        await asyncio.sleep(0.3)
        assert not second.is_leader

        first_task.cancel()
        await asyncio.gather(first_task, return_exceptions=True)
        await first.release()
        assert spec(control_plane).get("holderIdentity") is None

        await asyncio.wait_for(second.wait_leading(), 10)
        assert spec(control_plane)["leaseTransitions"] == 1


async def test_killed_leader_is_replaced_after_the_lease_expires(
    api: aclient.ApiClient, control_plane: KubeStandIn
) -> None:
    first, second = elector(api, "first"), elector(api, "second")
    first_task = asyncio.create_task(first.run())
    await asyncio.wait_for(first.wait_leading(), 10)

    async with campaigning(second):
        first_task.cancel()  # a crash: no release
        await asyncio.gather(first_task, return_exceptions=True)
        assert spec(control_plane)["holderIdentity"] == "first"

        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(second.wait_leading(), 15)
        waited = asyncio.get_running_loop().time() - started
        assert waited > 1.0  # the lease ran out first (renewed at most 0.3 s before the crash)
        assert waited < LEASE_SECONDS + 4  # and was taken soon after, not at some later pass
        lease = spec(control_plane)
        assert lease["holderIdentity"] == "second"
        assert lease["leaseTransitions"] == 1


async def test_conflict_on_renew_rereads_and_keeps_leading(
    api: aclient.ApiClient, control_plane: KubeStandIn
) -> None:
    only = elector(api, "only")
    assert await only.try_acquire_or_renew()

    control_plane.fail_next_write(409)
    assert await only.try_acquire_or_renew()  # a failed renewal within the deadline
    writes = control_plane.total_writes
    assert await only.try_acquire_or_renew()
    assert control_plane.total_writes == writes + 1
    assert spec(control_plane)["holderIdentity"] == "only"


async def test_conflicts_while_running_do_not_stop_the_elector(
    api: aclient.ApiClient, control_plane: KubeStandIn
) -> None:
    only = elector(api, "only")
    started: list[bool] = []
    stopped: list[bool] = []

    async def lead() -> None:
        started.append(True)
        await asyncio.sleep(3600)

    async def step_down() -> None:
        stopped.append(True)

    task = asyncio.create_task(only.run(lead, step_down))
    try:
        await asyncio.wait_for(only.wait_leading(), 10)
        control_plane.fail_next_write(409, times=2)
        await asyncio.sleep(1.0)
        assert not task.done()
        assert only.is_leader
        assert started == [True]
        assert stopped == []
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    assert stopped == [True]  # stopping the campaign stops the leader's work


async def test_losing_the_lease_cancels_the_leaders_work(
    api: aclient.ApiClient, control_plane: KubeStandIn
) -> None:
    only = elector(api, "only")
    work_cancelled = asyncio.Event()
    stopped: list[bool] = []

    async def lead() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            work_cancelled.set()
            raise

    async def step_down() -> None:
        stopped.append(True)

    task = asyncio.create_task(only.run(lead, step_down))
    try:
        await asyncio.wait_for(only.wait_leading(), 10)
        lease = control_plane.get_object("coordination.k8s.io/v1", "Lease", LEASE, NAMESPACE)
        assert lease is not None
        lease["spec"]["holderIdentity"] = "intruder"
        lease["spec"]["renewTime"] = "2999-01-01T00:00:00.000000Z"
        control_plane.seed(lease)

        await asyncio.wait_for(work_cancelled.wait(), 10)
        assert not only.is_leader
        assert stopped == [True]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.parametrize("delay", [60.0, 1.0], ids=["hung", "slower-than-the-timeout"])
async def test_a_leader_whose_lease_calls_stall_steps_down_by_its_renew_deadline(
    delay: float, api: aclient.ApiClient, control_plane: KubeStandIn
) -> None:
    only = elector(api, "only")  # request timeout: half the deadline, 0.75 s
    work_cancelled = asyncio.Event()

    async def lead() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            work_cancelled.set()
            raise

    loop = asyncio.get_running_loop()
    task = asyncio.create_task(only.run(lead))
    try:
        await asyncio.wait_for(only.wait_leading(), 10)
        await asyncio.sleep(0.4)  # a renewal or two
        control_plane.slow_requests(delay, resource=LEASES)
        stalled = loop.time()

        await asyncio.wait_for(work_cancelled.wait(), 10)

        # By the deadline after the last renewal (at most a renew period before the stall):
        # 1.5 s, and under load still before the lease runs out and another may lead.
        assert loop.time() - stalled < LEASE_SECONDS
        assert not only.is_leader
        control_plane.clear_faults()
        await asyncio.wait_for(only.wait_leading(), 10)  # leads again once answered
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_release_gives_up_after_the_request_timeout_when_the_lease_hangs(
    api: aclient.ApiClient, control_plane: KubeStandIn
) -> None:
    only = elector(api, "only")
    assert await only.try_acquire_or_renew()
    control_plane.slow_requests(60, resource=LEASES)
    loop = asyncio.get_running_loop()
    started = loop.time()

    await only.release()

    assert loop.time() - started < 10  # the request timeout (0.75 s), not the 60 s hang
    assert spec(control_plane)["holderIdentity"] == "only"  # left to expire


def test_timeouts_longer_than_the_deadline_are_refused(api: aclient.ApiClient) -> None:
    with pytest.raises(ValueError, match="request_timeout"):
        LeaderElector(api, NAMESPACE, LEASE, "x", renew_deadline=2, request_timeout=2)
    with pytest.raises(ValueError, match="renew_deadline"):
        LeaderElector(api, NAMESPACE, LEASE, "x", lease_seconds=10, renew_deadline=10)
