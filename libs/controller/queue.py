"""A work queue of keys with the semantics of client-go's rate-limited workqueue.

A reconciler is level-triggered: it is told *which* object to look at, never *what*
happened to it, and it compares the whole desired state with the whole actual state. So the
queue holds keys, not events, and three rules follow from that:

- A key is queued at most once. However many watch events name it before a worker gets to
  it, one reconcile covers them all (`add` merges duplicates through the `_dirty` set).
- A key is never processed by two workers at once. While a key is in `_processing`, adding
  it again only marks it dirty; `done(key)` puts it back on the queue, so the change that
  arrived mid-reconcile is still seen, by a reconcile that starts after the first ended.
- Failures slow only their own key. `add_rate_limited` delays a key by
  `base * 2**failures`, capped at `cap`, counting failures per key; `forget` resets the
  count once the key succeeds. Other keys keep flowing at full speed.

Everything here runs in one event loop and nothing awaits while holding state, so no lock is
needed: `add` is a plain function that watch callbacks and timers may call. Waiting workers
park on futures in `_waiters`; `add` wakes one, `shutdown` wakes all. Unlike client-go, a
shut-down queue hands out nothing more, even keys still queued: `get` raises `QueueShutDown`,
because the process is stopping (or has lost leadership) and the next leader resyncs anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["QueueShutDown", "WorkQueue"]

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


class QueueShutDown(Exception):
    """`get` was called, or was waiting, after `shutdown`."""


class WorkQueue(Generic[K]):
    """Keys to reconcile: deduplicated, never processed concurrently, backed off per key."""

    def __init__(self, *, backoff_base: float = 0.05, backoff_cap: float = 300.0) -> None:
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._timers: dict[K, tuple[float, asyncio.TimerHandle]] = {}
        self._failures: dict[K, int] = {}
        self._base = backoff_base
        self._cap = backoff_cap
        self._shutting_down = False

    def __len__(self) -> int:
        """Keys waiting to be handed out (the queue depth); delayed keys are not counted."""
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def add(self, key: K) -> None:
        """Queue `key` unless it is already queued; if it is being processed, queue it again
        once `done(key)` is called."""
        if self._shutting_down or key in self._dirty:
            return

        self._dirty.add(key)
        if key in self._processing:
            return

        self._queue.append(key)
        self._wake_one()

    def add_after(self, key: K, delay: float) -> None:
        """Queue `key` after `delay` seconds. Of several pending delays for one key, the
        earliest wins."""
        if self._shutting_down:
            return

        if delay <= 0:
            self.add(key)
            return

        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        pending = self._timers.get(key)
        if pending is not None:
            if pending[0] <= when:
                return
            pending[1].cancel()

        self._timers[key] = (when, loop.call_at(when, self._fire, key))

    def add_rate_limited(self, key: K) -> float:
        """Queue `key` after its per-key exponential backoff; returns the delay chosen."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        delay = min(self._base * 2.0**failures, self._cap)
        self.add_after(key, delay)
        return delay

    def forget(self, key: K) -> None:
        """Reset the backoff of `key` (call after it was reconciled successfully)."""
        self._failures.pop(key, None)

    def num_requeues(self, key: K) -> int:
        """Failures counted for `key` since it was last forgotten."""
        return self._failures.get(key, 0)

    async def get(self) -> K:
        """The next key, marked as processing until `done(key)`; waits while none is queued.
        Raises `QueueShutDown` once the queue is shut down."""
        while not self._queue:
            if self._shutting_down:
                raise QueueShutDown
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                # IMPORTANT: a cancelled waiter may already have been woken by `add`; pass the
                # wake-up on so the key it announced is not left waiting for the next `add`.
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()
                raise

        if self._shutting_down:
            raise QueueShutDown

        key = self._queue.popleft()
        self._dirty.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: K) -> None:
        """`key` is no longer being processed; if it was added meanwhile, queue it again."""
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wake_one()

    def shutdown(self) -> None:
        """Stop handing out keys: waiting and later `get` calls raise `QueueShutDown`."""
        self._shutting_down = True
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
