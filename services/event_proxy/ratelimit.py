"""A token bucket: `qps` tokens a second, at most `burst` saved up.

`acquire` takes a token at once and, when the bucket is in debt, sleeps until that token
would have been refilled. Taking before sleeping reserves a slot, so concurrent callers are
spaced `1/qps` apart in the order they asked instead of waking together and racing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(
        self, qps: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.qps = qps
        self.burst = max(1, burst)
        self._clock = clock
        self._tokens = float(self.burst)
        self._updated = clock()

    async def acquire(self) -> None:
        """Wait for one token; returns at once when the limit is off (`qps` 0)."""
        if self.qps <= 0:
            return
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.qps)
        self._updated = now
        self._tokens -= 1
        if self._tokens < 0:
            await asyncio.sleep(-self._tokens / self.qps)
