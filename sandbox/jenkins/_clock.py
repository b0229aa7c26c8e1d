"""A scalable clock, so a ten-minute pipeline can run in a second.

Everything the stand-in reports (run timestamps, durations, queue times, event times) is read
from one `Clock`. Virtual time starts at the wall clock and then advances `scale` times faster
than real time; `sleep` waits the real fraction of a virtual delay. Changing the scale rebases
the clock at the current instant, so virtual time never jumps backwards. A sleep already in
progress keeps the real length it was given when it started.

`time_span` writes a duration as Jenkins's `Util.getTimeSpanString` does, wherever Jenkins
shows one (a queue item's quiet period, `sleep`, `timeout`).
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


_UNITS_MS = (
    (365 * 86_400_000, "yr"),
    (30 * 86_400_000, "mo"),
    (86_400_000, "day"),
    (3_600_000, "hr"),
    (60_000, "min"),
    (1000, "sec"),
)


def time_span(ms: int) -> str:
    """A duration the way Jenkins writes it: `9 min 59 sec`, `10 min`, `9.9 sec`, `0.12 sec`.

    The largest unit present leads; the next one follows only while the first is below 10.
    Under a minute, 10 seconds or more are whole, fewer get tenths, under a second hundredths,
    and under 0.1 s the milliseconds are given.
    """
    ms = max(0, int(ms))
    amounts = []
    rest = ms
    for size, _ in _UNITS_MS:
        amounts.append(rest // size)
        rest %= size

    for index, (_, unit) in enumerate(_UNITS_MS[:-1]):
        if amounts[index] > 0:
            text = _with_unit(amounts[index], unit)
            if amounts[index] < 10:
                text += " " + _with_unit(amounts[index + 1], _UNITS_MS[index + 1][1])
            return text

    seconds, millis = amounts[-1], rest
    if seconds >= 10:
        return f"{seconds} sec"
    if seconds >= 1:
        return f"{seconds + (millis // 100) / 10:g} sec"
    if millis >= 100:
        return f"{(millis // 10) / 100:g} sec"
    return f"{millis} ms"


def _with_unit(amount: int, unit: str) -> str:
    if unit == "day":
        return f"{amount} day" if amount == 1 else f"{amount} days"
    return f"{amount} {unit}"
