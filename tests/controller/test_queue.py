"""WorkQueue: merging, no concurrent processing of a key, per-key backoff, delayed adds."""

from __future__ import annotations

import asyncio

import pytest

from libs.controller import QueueShutDown, WorkQueue


async def test_duplicates_merge_into_one_entry() -> None:
    queue: WorkQueue[str] = WorkQueue()
    for _ in range(5):
        queue.add("a")
    queue.add("b")
    queue.add("a")

    assert len(queue) == 2
    assert await queue.get() == "a"
    assert await queue.get() == "b"
    assert len(queue) == 0


async def test_key_added_while_processing_is_queued_again_only_after_done() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    key = await queue.get()

    queue.add("a")
    queue.add("a")
    assert len(queue) == 0  # not handed to a second worker while the first holds it

    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0.01)
    assert not second.done()

    queue.done(key)
    assert await asyncio.wait_for(second, 10) == "a"
    queue.done("a")
    assert len(queue) == 0


async def test_key_is_never_processed_by_two_workers_at_once() -> None:
    queue: WorkQueue[int] = WorkQueue()
    active: set[int] = set()
    overlaps = 0
    runs = 0

    async def worker() -> None:
        nonlocal overlaps, runs
        while True:
            try:
                key = await queue.get()
            except QueueShutDown:
                return
            if key in active:
                overlaps += 1
            active.add(key)
            runs += 1
            await asyncio.sleep(0.002)
            active.discard(key)
            queue.done(key)

    workers = [asyncio.create_task(worker()) for _ in range(4)]
    for _ in range(30):
        for key in range(3):
            queue.add(key)
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.05)
    queue.shutdown()
    await asyncio.gather(*workers)

    assert overlaps == 0
    assert 3 <= runs < 90  # merged, yet every burst is seen


async def test_backoff_grows_per_key_and_forget_resets() -> None:
    queue: WorkQueue[str] = WorkQueue(backoff_base=0.01, backoff_cap=0.05)

    delays = [queue.add_rate_limited("bad") for _ in range(5)]
    assert delays == [0.01, 0.02, 0.04, 0.05, 0.05]
    assert queue.num_requeues("bad") == 5

    assert queue.add_rate_limited("other") == 0.01  # counted per key

    queue.forget("bad")
    assert queue.num_requeues("bad") == 0
    assert queue.add_rate_limited("bad") == 0.01


async def test_rate_limited_key_arrives_after_its_delay() -> None:
    queue: WorkQueue[str] = WorkQueue(backoff_base=0.1)
    queue.add_rate_limited("a")
    assert len(queue) == 0

    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await asyncio.wait_for(queue.get(), 10) == "a"
    assert loop.time() - started >= 0.09


async def test_add_after_delays_and_the_earliest_delay_wins() -> None:
    queue: WorkQueue[str] = WorkQueue()
    loop = asyncio.get_running_loop()
    started = loop.time()
    queue.add_after("a", 0.5)
    queue.add_after("a", 0.1)
    queue.add_after("a", 0.3)
    # Markers between the delays: timers fire in the order of their deadlines, however late a
    # busy loop gets to them, so the order keys come out in tells which timers fired.
    queue.add_after("b", 0.2)
    queue.add_after("c", 0.6)
    assert len(queue) == 0

    handed_out = []
    for _ in range(3):
        key = await asyncio.wait_for(queue.get(), 10)
        if key == "a":
            assert loop.time() - started >= 0.09
        handed_out.append(key)
        queue.done(key)

    # "a" came at 0.1 s, before "b"; its 0.3 s and 0.5 s timers were dropped, not fired.
    assert handed_out == ["a", "b", "c"]
    assert len(queue) == 0


async def test_shutdown_wakes_waiting_getters() -> None:
    queue: WorkQueue[str] = WorkQueue()
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0.01)

    queue.shutdown()
    with pytest.raises(QueueShutDown):
        await asyncio.wait_for(waiting, 10)
    queue.add("a")
    assert len(queue) == 0


async def test_a_cancelled_getter_passes_its_wake_up_on() -> None:
    queue: WorkQueue[str] = WorkQueue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0.01)

    queue.add("a")  # wakes `first`
    first.cancel()
    assert await asyncio.wait_for(second, 10) == "a"
