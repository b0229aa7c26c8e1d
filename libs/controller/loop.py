"""One reconciliation loop: a work queue, a few workers and a periodic resync.

A `Controller` owns everything it needs (its `WorkQueue`, its worker tasks, its resync
timer) and shares none of it with other controllers in the same process. That is what makes
a failing provider slow only its own keys: its reconciles raise, its keys back off in its own
queue, and the workers of every other controller never wait on them.

How a key moves:

1. Something calls `enqueue(key)`: a watch callback, the resync, or the backoff timer.
2. A worker takes the key from the queue and awaits `reconcile(key)`. The reconciler reads
   the whole desired state and the whole actual state and converges them; it is told
   nothing about why it was called, so missing an event costs nothing but latency.
3. Success resets the key's backoff (`forget`). An exception is logged once, with the key,
   and the key is queued again after its per-key exponential backoff. Either way the worker
   calls `done(key)`, which requeues the key if it was added again meanwhile.

The resync enqueues every key `list_keys` returns, every `resync_seconds`, starting at once.
It is the safety net for drift nobody announced (an edit in a member cluster, a lost watch
event, a reconcile that "succeeded" against stale data). Because the queue merges duplicates,
a resync of a key that is already queued costs nothing.

Cancellation is the only way to stop `run()`: it shuts the queue down, which ends the
workers; a reconcile in flight is cancelled with them.

Metrics all carry a `controller` label: `workbench_controller_queue_depth`,
`workbench_controller_reconciles_total{result="success"|"error"}`,
`workbench_controller_reconcile_seconds` and `workbench_controller_retries_total`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Generic, TypeVar

from prometheus_client import Counter, Gauge, Histogram

from libs.controller.queue import QueueShutDown, WorkQueue

__all__ = ["Controller"]

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)

QUEUE_DEPTH = Gauge(
    "workbench_controller_queue_depth",
    "Keys waiting in a controller's work queue.",
    ["controller"],
)
RECONCILES = Counter(
    "workbench_controller_reconciles",
    "Reconciles finished, by result (success or error).",
    ["controller", "result"],
)
RECONCILE_SECONDS = Histogram(
    "workbench_controller_reconcile_seconds",
    "Time spent in one reconcile.",
    ["controller"],
)
RETRIES = Counter(
    "workbench_controller_retries",
    "Keys queued again after a failed reconcile.",
    ["controller"],
)


class Controller(Generic[K]):
    """A level-triggered reconciliation loop over keys of type `K`."""

    def __init__(
        self,
        name: str,
        reconcile: Callable[[K], Awaitable[None]],
        *,
        list_keys: Callable[[], Awaitable[Iterable[K]]] | None = None,
        workers: int = 4,
        resync_seconds: float = 300.0,
        backoff_base: float = 0.05,
        backoff_cap: float = 300.0,
    ) -> None:
        if workers < 1:
            raise ValueError("a controller needs at least one worker")
        self.name = name
        self.queue: WorkQueue[K] = WorkQueue(backoff_base=backoff_base, backoff_cap=backoff_cap)
        self._reconcile = reconcile
        self._list_keys = list_keys
        self._workers = workers
        self._resync_seconds = resync_seconds
        QUEUE_DEPTH.labels(name).set_function(lambda: len(self.queue))

    def enqueue(self, key: K) -> None:
        """Ask for `key` to be reconciled (merged with a pending request for the same key)."""
        self.queue.add(key)

    async def run(self) -> None:
        """Reconcile until cancelled."""
        logger.info("controller %s: starting %d workers", self.name, self._workers)
        try:
            async with asyncio.TaskGroup() as group:
                for index in range(self._workers):
                    group.create_task(self._work(), name=f"{self.name}-worker-{index}")
                if self._list_keys is not None:
                    group.create_task(self._resync(), name=f"{self.name}-resync")
        finally:
            self.queue.shutdown()
            logger.info("controller %s: stopped", self.name)

    async def resync(self) -> int:
        """Enqueue every key `list_keys` returns, once; returns how many."""
        if self._list_keys is None:
            return 0

        count = 0
        for key in await self._list_keys():
            self.queue.add(key)
            count += 1
        return count

    async def _resync(self) -> None:
        while True:
            try:
                count = await self.resync()
                logger.debug("controller %s: resync queued %d keys", self.name, count)
            except Exception:
                # A failed listing must not end the loop: the next period tries again.
                logger.exception("controller %s: resync could not list keys", self.name)

            await asyncio.sleep(self._resync_seconds)

    async def _work(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except QueueShutDown:
                return

            try:
                await self._process(key)
            finally:
                self.queue.done(key)

    async def _process(self, key: K) -> None:
        started = time.perf_counter()
        try:
            await self._reconcile(key)
        except Exception as error:
            RECONCILE_SECONDS.labels(self.name).observe(time.perf_counter() - started)
            RECONCILES.labels(self.name, "error").inc()
            RETRIES.labels(self.name).inc()
            delay = self.queue.add_rate_limited(key)
            logger.warning(
                "controller %s: reconcile of %r failed (attempt %d, retry in %.2fs): %s",
                self.name,
                key,
                self.queue.num_requeues(key),
                delay,
                error,
                exc_info=error,
            )
            return

        RECONCILE_SECONDS.labels(self.name).observe(time.perf_counter() - started)
        RECONCILES.labels(self.name, "success").inc()
        self.queue.forget(key)
