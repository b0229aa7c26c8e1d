"""Durations written as Jenkins writes them (`Util.getTimeSpanString`)."""

from __future__ import annotations

import pytest

from sandbox.jenkins._clock import time_span


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (40, "40 ms"),
        (120, "0.12 sec"),
        (5_000, "5 sec"),
        (9_960, "9.9 sec"),
        (45_500, "45 sec"),
        (61_000, "1 min 1 sec"),
        (599_000, "9 min 59 sec"),
        (600_000, "10 min"),
        (3_600_000, "1 hr 0 min"),
        (86_400_000, "1 day 0 hr"),
        (2 * 86_400_000 + 3_600_000, "2 days 1 hr"),
        (-5, "0 ms"),
    ],
)
def test_time_span_reads_like_jenkins(ms: int, text: str) -> None:
    assert time_span(ms) == text
