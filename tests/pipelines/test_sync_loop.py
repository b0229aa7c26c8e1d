"""The retry loop on its own: backoff while pushes fail, back to idle once they succeed."""

from __future__ import annotations

import asyncio

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


def loop_for(store: Store, pusher: Pusher) -> SyncLoop:
    return SyncLoop(store, pusher, base_delay=0.02, max_delay=0.16, idle=5)  # type: ignore[arg-type]


async def _run(loop: SyncLoop, pusher: Pusher) -> None:
    loop.start()
    try:
        async with asyncio.timeout(5):
            await pusher.done.wait()
    finally:
        await loop.stop()


async def test_failed_pushes_are_retried_with_doubling_delays() -> None:
    store = Store([1])
    pusher = Pusher(store, failures=4, wanted=5)

    await _run(loop_for(store, pusher), pusher)

    gaps = [b - a for a, b in zip(pusher.times, pusher.times[1:], strict=False)]
    assert store.pending_ids == []
    assert gaps[1] > gaps[0] * 1.5
    assert gaps[2] > gaps[1] * 1.5


async def test_delay_stops_growing_at_the_maximum() -> None:
    store = Store([1])
    pusher = Pusher(store, failures=7, wanted=8)

    await _run(loop_for(store, pusher), pusher)

    gaps = [b - a for a, b in zip(pusher.times, pusher.times[1:], strict=False)]
    assert max(gaps) < 0.16 * 2


async def test_kick_pushes_at_once_when_idle() -> None:
    store = Store([])
    pusher = Pusher(store, failures=0)
    loop = loop_for(store, pusher)
    loop.start()
    await asyncio.sleep(0.05)

    store.pending_ids.append(7)
    loop.kick()
    try:
        async with asyncio.timeout(1):
            await pusher.done.wait()
    finally:
        await loop.stop()

    assert store.pending_ids == []
