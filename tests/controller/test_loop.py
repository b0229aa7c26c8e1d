"""Controller: resync covers every key, failures back off per key, metrics move."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager

import pytest

from libs.controller import Controller
from tests.conftest import eventually


@asynccontextmanager
async def running(controller: Controller[str]) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(controller.run())
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_resync_reconciles_every_listed_key_periodically() -> None:
    seen: Counter[str] = Counter()

    async def reconcile(key: str) -> None:
        seen[key] += 1

    async def list_keys() -> Iterable[str]:
        return ["a", "b", "c"]

    controller = Controller("resync", reconcile, list_keys=list_keys, resync_seconds=0.1)
    async with running(controller):
        await eventually(lambda: all(seen[key] >= 3 for key in "abc"))

    assert set(seen) == {"a", "b", "c"}


async def test_enqueued_key_is_reconciled_without_resync() -> None:
    seen: list[str] = []

    async def reconcile(key: str) -> None:
        seen.append(key)

    controller = Controller("enqueue", reconcile)
    async with running(controller):
        controller.enqueue("x")
        await eventually(lambda: seen == ["x"])


async def test_failing_key_backs_off_while_other_keys_keep_flowing(
    caplog: pytest.LogCaptureFixture, metric: Callable[..., float]
) -> None:
    attempts: list[float] = []
    good: Counter[str] = Counter()
    loop = asyncio.get_running_loop()

    async def reconcile(key: str) -> None:
        if key == "broken":
            attempts.append(loop.time())
            raise RuntimeError("provider unavailable")
        good[key] += 1

    controller = Controller("backoff", reconcile, workers=2, backoff_base=0.05)
    errors_before = metric(
        "workbench_controller_reconciles_total", controller="backoff", result="error"
    )
    with caplog.at_level(logging.WARNING, logger="libs.controller.loop"):
        async with running(controller):
            controller.enqueue("broken")
            await eventually(lambda: len(attempts) >= 4)
            for round_ in range(20):
                controller.enqueue(f"ok-{round_}")
            await eventually(lambda: len(good) == 20)

    # Exponential: 0.05, 0.1, 0.2 s at least. Only lower bounds: a busy loop makes gaps longer.
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.04
    assert gaps[1] >= 0.09
    assert gaps[2] >= 0.19
    assert all(count == 1 for count in good.values())
    failures = [r for r in caplog.records if "'broken'" in r.getMessage()]
    assert len(failures) == len(attempts)  # one log line per failure, naming the key
    errors = metric("workbench_controller_reconciles_total", controller="backoff", result="error")
    assert errors - errors_before == len(attempts)
    assert metric("workbench_controller_retries_total", controller="backoff") == len(attempts)


async def test_success_resets_the_backoff() -> None:
    failures_left = 3
    succeeded = asyncio.Event()

    async def reconcile(key: str) -> None:
        nonlocal failures_left
        if failures_left:
            failures_left -= 1
            raise RuntimeError("not yet")
        succeeded.set()

    controller = Controller("recover", reconcile, backoff_base=0.01)
    async with running(controller):
        controller.enqueue("k")
        await asyncio.wait_for(succeeded.wait(), 10)  # after three failures, backed off
        assert controller.queue.num_requeues("k") == 0


async def test_metrics_count_successes_latency_and_depth(metric: Callable[..., float]) -> None:
    release = asyncio.Event()

    async def reconcile(key: str) -> None:
        await release.wait()

    controller = Controller("metrics", reconcile, workers=1)
    async with running(controller):
        for key in ("a", "b", "c"):
            controller.enqueue(key)
        await eventually(lambda: len(controller.queue) == 2)
        assert metric("workbench_controller_queue_depth", controller="metrics") == 2

        release.set()
        await eventually(
            lambda: (
                metric(
                    "workbench_controller_reconciles_total", controller="metrics", result="success"
                )
                == 3
            )
        )

    assert metric("workbench_controller_queue_depth", controller="metrics") == 0
    assert metric("workbench_controller_reconcile_seconds_count", controller="metrics") == 3


async def test_controllers_share_nothing() -> None:
    fast: list[str] = []

    async def stuck(key: str) -> None:
        await asyncio.sleep(3600)

    async def quick(key: str) -> None:
        fast.append(key)

    slow_controller = Controller("stuck", stuck, workers=1)
    fast_controller = Controller("quick", quick, workers=1)
    async with running(slow_controller), running(fast_controller):
        slow_controller.enqueue("a")
        slow_controller.enqueue("b")
        for key in ("x", "y", "z"):
            fast_controller.enqueue(key)
        await eventually(lambda: fast == ["x", "y", "z"])
        assert len(slow_controller.queue) == 1
