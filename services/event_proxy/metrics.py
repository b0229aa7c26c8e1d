"""event-proxy's Prometheus metrics, in a registry of their own.

Each `EventProxy` owns a registry, so several proxies can live in one process (tests, the
benchmark) without clashing over metric names. The queue gauges are read at scrape time.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_PREFIX = "workbench_event_proxy"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_DELAY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)


class Metrics:
    def __init__(self, *, depth: Callable[[], float], oldest_age: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.queue_depth = Gauge(
            f"{_PREFIX}_queue_depth", "Events stored and not yet delivered.", registry=r
        )
        self.queue_depth.set_function(depth)
        self.oldest_event_age = Gauge(
            f"{_PREFIX}_oldest_event_age_seconds",
            "Age of the oldest undelivered event (0 when the queue is empty).",
            registry=r,
        )
        self.oldest_event_age.set_function(oldest_age)
        self.received = Counter(
            f"{_PREFIX}_received_total",
            "Events accepted and stored (duplicates not counted).",
            ["type"],
            registry=r,
        )
        self.duplicates = Counter(
            f"{_PREFIX}_duplicates_total", "Events posted again with a known id.", registry=r
        )
        self.rejected = Counter(
            f"{_PREFIX}_rejected_total",
            "Posts refused as malformed or too large.",
            ["reason"],
            registry=r,
        )
        self.forwarded = Counter(
            f"{_PREFIX}_forwarded_total",
            "Events delivered to devops-server.",
            ["type"],
            registry=r,
        )
        self.failures = Counter(
            f"{_PREFIX}_failures_total",
            "Failed delivery attempts, by reason.",
            ["reason"],
            registry=r,
        )
        self.dead_letters = Counter(
            f"{_PREFIX}_dead_letters_total",
            "Events devops-server refused for good, moved to the dead letters.",
            registry=r,
        )
        self.forward_latency = Histogram(
            f"{_PREFIX}_forward_latency_seconds",
            "Duration of one successful POST to devops-server.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.delivery_delay = Histogram(
            f"{_PREFIX}_delivery_delay_seconds",
            "Time from an event's arrival to its delivery, retries included.",
            buckets=_DELAY_BUCKETS,
            registry=r,
        )
