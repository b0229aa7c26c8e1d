"""Running a stand-in in a background thread, for callers that block.

The synchronous `kubernetes` client (and any other blocking code under test) cannot share an
event loop with the server it calls, so this wrapper gives the stand-in a thread and a loop of
its own. Hooks must then run in that loop, not in the caller's thread, because the store is
not locked: `call()` forwards a function into the loop and waits for its result.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sandbox.kube._standin import KubeStandIn

T = TypeVar("T")


class ThreadedKubeStandIn:
    """A `KubeStandIn` served from its own thread and event loop."""

    def __init__(self, standin: KubeStandIn) -> None:
        self.standin = standin
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"kube-{standin.name}", daemon=True
        )

    def start(self, port: int = 0) -> str:
        self._thread.start()
        return asyncio.run_coroutine_threadsafe(self.standin.start(port), self._loop).result()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.standin.stop(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(*args, **kwargs)` in the server's loop and return its result."""

        async def run() -> T:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result()

    def __enter__(self) -> ThreadedKubeStandIn:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
