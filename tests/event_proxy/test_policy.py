"""The pure parts: ordering keys, the verdict on each status, backoff, the rate, settings."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from services.event_proxy import EventProxySettings, ratelimit
from services.event_proxy.envelope import ordering_key, parse
from services.event_proxy.forwarder import Outcome, backoff, judge
from services.event_proxy.ratelimit import TokenBucket
from tests.event_proxy.conftest import run_event


def test_events_of_one_run_share_a_key_and_other_runs_do_not() -> None:
    first = [ordering_key(run_event("build", 1, t)) for t in ("run.started", "run.completed")]
    other_run = ordering_key(run_event("build", 2, "run.started"))
    other_job = ordering_key(run_event("deploy", 1, "run.started"))

    assert first[0] == first[1]
    assert len({first[0], other_run, other_job}) == 3


def test_item_events_are_keyed_by_the_item() -> None:
    created = {"id": "1", "type": "item.created", "source": "job/ws/", "url": "",
               "data": {"fullName": "ws/build", "name": "build"}}  # fmt: skip
    updated = {**created, "id": "2", "type": "item.updated"}
    other = {**created, "id": "3", "data": {"fullName": "ws/deploy"}}

    assert ordering_key(created) == ordering_key(updated) != ordering_key(other)


def test_an_event_without_run_or_item_stands_alone() -> None:
    assert parse(b'{"id": "e1", "type": "run.started"}').key == "event e1"


@pytest.mark.parametrize(
    ("status", "outcome", "reason"),
    [
        (200, Outcome.DELIVERED, ""),
        (204, Outcome.DELIVERED, ""),
        (400, Outcome.DEAD, "rejected"),
        (404, Outcome.DEAD, "rejected"),
        (422, Outcome.DEAD, "rejected"),
        (401, Outcome.RETRY, "unauthorized"),
        (403, Outcome.RETRY, "unauthorized"),
        (408, Outcome.RETRY, "timeout"),
        (429, Outcome.RETRY, "throttled"),
        (500, Outcome.RETRY, "server_error"),
        (503, Outcome.RETRY, "server_error"),
        (302, Outcome.RETRY, "unexpected_status"),
    ],
)
def test_each_status_has_a_verdict(status: int, outcome: Outcome, reason: str) -> None:
    verdict = judge(status)

    assert (verdict.outcome, verdict.reason) == (outcome, reason)


def test_retry_after_sets_the_least_wait() -> None:
    assert judge(429, "2").wait == 2.0
    assert judge(503, "3600").wait == 60.0
    assert judge(429, "Wed, 21 Oct 2015 07:28:00 GMT").wait == 0.0


def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    draws = {attempt: [backoff(attempt, 0.1, 5.0) for _ in range(500)] for attempt in (1, 4, 99)}

    assert max(draws[1]) <= 0.1
    assert 0.4 < max(draws[4]) <= 0.8
    assert 4.0 < max(draws[99]) <= 5.0
    assert min(draws[99]) < 1.0  # full jitter: anywhere from zero


async def test_the_token_bucket_allows_a_burst_then_the_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Virtual time: the bucket's waits are recorded and pass at once, so a busy machine
    # cannot stretch them.
    now = 0.0
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        nonlocal now
        waits.append(seconds)
        now += seconds

    monkeypatch.setattr(ratelimit, "asyncio", SimpleNamespace(sleep=sleep))
    bucket = TokenBucket(qps=100, burst=10, clock=lambda: now)

    for _ in range(10):
        await bucket.acquire()
    assert waits == []  # the burst

    for _ in range(30):
        await bucket.acquire()
    assert waits == pytest.approx([0.01] * 30)  # then one token each 1/qps


def test_the_token_falls_back_to_the_internal_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_INTERNAL_TOKEN", "shared")
    monkeypatch.delenv("WORKBENCH_EVENT_PROXY_TOKEN", raising=False)
    shared = EventProxySettings().token
    monkeypatch.setenv("WORKBENCH_EVENT_PROXY_TOKEN", "own")
    own = EventProxySettings().token

    assert shared is not None and shared.get_secret_value() == "shared"
    assert own is not None and own.get_secret_value() == "own"


def test_the_outbox_lives_under_the_state_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_STATE_DIR", "/var/lib/wb")
    monkeypatch.delenv("WORKBENCH_EVENT_PROXY_OUTBOX_DIR", raising=False)
    monkeypatch.delenv("WORKBENCH_EVENT_PROXY_STATE_DIR", raising=False)

    assert str(EventProxySettings().outbox_path) == "/var/lib/wb/event-proxy"
