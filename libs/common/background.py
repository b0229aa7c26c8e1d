"""A loop that runs for the life of a process and can be woken early."""

from __future__ import annotations

import asyncio
from typing import Any


async def ended(task: asyncio.Future[Any]) -> None:
    """Wait until `task` ends, counting its cancellation as an end.

    A cancellation of the caller itself (a deadline around a shutdown, Ctrl-C) still reaches
    the caller, which `contextlib.suppress(CancelledError)` around the await would swallow.
    """
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


async def cancel_and_wait(task: asyncio.Future[Any]) -> None:
    """Cancel `task` and wait until it has ended."""
    task.cancel()
    await ended(task)


class BackgroundLoop:
    """Runs `_run` as one named task between `start` and `stop`; `kick` sets `_wake`.

    Subclasses write `_run`, which waits on `self._wake` (with its own timeout) between passes
    and clears it before each pass, so a kick during a pass causes one more pass, not none.
    """

    task_name = "background-loop"

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    def kick(self) -> None:
        """Run a pass soon rather than after the loop's idle interval."""
        self._wake.set()

    async def _run(self) -> None:
        raise NotImplementedError
