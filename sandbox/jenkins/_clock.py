"""A scalable clock, so a ten-minute pipeline can run in a second.

Everything the stand-in reports (run timestamps, durations, queue times, event times) is read
from one `Clock`. Virtual time starts at the wall clock and then advances `scale` times faster
than real time; `sleep` waits the real fraction of a virtual delay. Changing the scale rebases
the clock at the current instant, so virtual time never jumps backwards. A sleep already in
progress keeps the real length it was given when it started.
"""

from __future__ import annotations

import asyncio
import time


class Clock:
    """Virtual wall-clock time that runs `scale` times faster than real time."""

    def __init__(self, scale: float = 1.0, *, start: float | None = None) -> None:
        if scale <= 0:
            raise ValueError("the time scale must be positive")
        self._scale = scale
        self._real0 = time.monotonic()
        self._virtual0 = time.time() if start is None else max(start, time.time())

    @property
    def scale(self) -> float:
        return self._scale

    @scale.setter
    def scale(self, value: float) -> None:
        if value <= 0:
            raise ValueError("the time scale must be positive")
        self._virtual0 = self.now()
        self._real0 = time.monotonic()
        self._scale = value

    def now(self) -> float:
        """Virtual seconds since the epoch."""
        return self._virtual0 + (time.monotonic() - self._real0) * self._scale

    def now_ms(self) -> int:
        """Virtual milliseconds since the epoch, as Jenkins reports times."""
        return int(self.now() * 1000)

    def real_seconds(self, virtual_seconds: float) -> float:
        """How long `virtual_seconds` last in real time."""
        return max(0.0, virtual_seconds) / self._scale

    async def sleep(self, virtual_seconds: float) -> None:
        await asyncio.sleep(self.real_seconds(virtual_seconds))
