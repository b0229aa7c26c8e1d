"""The retry loop on its own: backoff while pushes fail, back to idle once they succeed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.devops_server.ci import sync
from services.devops_server.ci.sync import SyncLoop


class Store:
    def __init__(self, pending: list[int]) -> None:
        self.pending_ids = pending

    async def pending(self, after: int = 0, limit: int = 100) -> list[int]:
        return [i for i in self.pending_ids if i > after][:limit]

    async def removals(self, limit: int = 100) -> list[object]:
        return []


class Pusher:
    """Fails the first `failures` pushes, then succeeds; records when each push happened."""

    def __init__(self, store: Store, failures: int, wanted: int = 1) -> None:
        self.store = store
        self.failures = failures
        self.times: list[float] = []
        self.wanted = wanted
        self.done = asyncio.Event()

    async def push(self, pipeline_id: int, *, force: bool = False) -> str:
        self.times.append(asyncio.get_running_loop().time())
        if len(self.times) >= self.wanted:
            self.done.set()
        if len(self.times) <= self.failures:
            return "Jenkins does not answer"
        self.store.pending_ids.remove(pipeline_id)
        return ""


def loop_for(store: Store, pusher: Pusher, *, idle: float = 5) -> SyncLoop:
    return SyncLoop(
        store,  # type: ignore[arg-type]
        pusher,  # type: ignore[arg-type]
        base_delay=0.02,
        max_delay=0.16,
        idle=idle,
    )


async def _run(loop: SyncLoop, pusher: Pusher) -> None:
    loop.start()
    try:
        async with asyncio.timeout(30):
            await pusher.done.wait()
    finally:
        await loop.stop()


class RecordedSleeps:
    """`asyncio` as the sync module sees it, except that the delay of every sleep is recorded:
    the backoff is read as chosen, not from wall time a busy machine stretches."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(delay)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> RecordedSleeps:
    recorded = RecordedSleeps()
    monkeypatch.setattr(sync, "asyncio", recorded)
    return recorded


async def test_failed_pushes_are_retried_with_doubling_delays(sleeps: RecordedSleeps) -> None:
    store = Store([1])
    pusher = Pusher(store, failures=4, wanted=5)

    await _run(loop_for(store, pusher), pusher)

    assert store.pending_ids == []
    assert sleeps.delays == [0.02, 0.04, 0.08, 0.16]
    gaps = [b - a for a, b in zip(pusher.times, pusher.times[1:], strict=False)]
    assert all(gap >= delay - 0.001 for gap, delay in zip(gaps, sleeps.delays, strict=True))


async def test_delay_stops_growing_at_the_maximum(sleeps: RecordedSleeps) -> None:
    store = Store([1])
    pusher = Pusher(store, failures=7, wanted=8)

    await _run(loop_for(store, pusher), pusher)

    assert sleeps.delays == [0.02, 0.04, 0.08, 0.16, 0.16, 0.16, 0.16]


async def test_kick_pushes_at_once_when_idle() -> None:
    store = Store([])
    pusher = Pusher(store, failures=0)
    loop = loop_for(store, pusher, idle=60)  # only the kick can make it push within the wait
    loop.start()
    await asyncio.sleep(0.05)

    store.pending_ids.append(7)
    loop.kick()
    try:
        async with asyncio.timeout(10):
            await pusher.done.wait()
    finally:
        await loop.stop()

    assert store.pending_ids == []
