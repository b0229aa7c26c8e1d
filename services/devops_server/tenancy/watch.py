"""Fan-out of tenancy changes to watchers, woken by PostgreSQL LISTEN/NOTIFY.

One LISTEN connection per devops-server process. A notification only says "something new";
each watcher then reads the change log after its own last revision, so a lost notification
or a reconnect costs latency, never a change. A slow poll backs the notifications up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg

from libs.common.background import cancel_and_wait
from services.devops_server.store.tables import Change
from services.devops_server.tenancy.store import TenancyStore

logger = logging.getLogger(__name__)

CHANNEL = "tenancy_changes"


class ChangeFeed:
    def __init__(self, store: TenancyStore, dsn: str, *, poll_seconds: float = 5.0) -> None:
        self._store = store
        self._dsn = dsn
        self._poll = poll_seconds
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="tenancy-listen")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)

    def _notify(self, *_: Any) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    async def _listen(self) -> None:
        while True:
            try:
                connection = await asyncpg.connect(self._dsn)
                try:
                    await connection.add_listener(CHANNEL, self._notify)
                    self._notify()
                    while not connection.is_closed():
                        await asyncio.sleep(self._poll)
                        self._notify()
                finally:
                    await connection.close()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("tenancy LISTEN connection lost; reconnecting", exc_info=True)
                await asyncio.sleep(1)

    async def follow(self, after_revision: int) -> AsyncIterator[Sequence[Change]]:
        """Batches of changes after `after_revision`, for ever."""
        revision = after_revision
        while True:
            waiter = self._wakeup
            batch = await self._store.changes_after(revision)
            if batch:
                revision = batch[-1].revision
                yield batch
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await waiter.wait()
