"""The forwarding side: what devops-server gets, in which order, after which failures."""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import aiohttp
import pytest

from tests.event_proxy.conftest import (
    INSTANCE,
    RUN_TYPES,
    TOKEN,
    ProxyFactory,
    Receiver,
    build_events,
    metric,
    post,
    run_event,
)


async def post_builds_in_order(
    http: aiohttp.ClientSession, proxy: Any, builds: list[list[dict[str, Any]]]
) -> None:
    """Post every build's events one after the other, the builds concurrently."""

    async def one_build(events: list[dict[str, Any]]) -> None:
        for event in events:
            status, _ = await post(http, proxy, event)
            assert status == 200

    await asyncio.gather(*(one_build(events) for events in builds))


def types_by_run(receiver: Receiver) -> dict[str, list[str]]:
    runs: dict[str, list[str]] = {}
    for received in receiver.delivered:
        event = received.event
        runs.setdefault(event["url"], []).append(event["type"])
    return runs


async def test_body_token_and_headers_are_forwarded(
    make_proxy: ProxyFactory, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    proxy = await make_proxy()
    event = run_event("build", 1, "run.started")
    body = json.dumps(event, indent=4).encode()

    await post(
        http,
        proxy,
        body,
        headers={"X-Event-Type": "run.started", "Referrer": "http://jenkins.example:8080/"},
    )
    [got] = await receiver.wait_for(1)

    assert got.body == body
    assert got.headers["Authorization"] == f"Bearer {TOKEN}"
    assert got.headers["X-Event-Type"] == "run.started"
    assert got.headers["Referrer"] == "http://jenkins.example:8080/"
    assert got.headers["X-Workbench-Jenkins"] == INSTANCE
    assert got.headers["Content-Type"] == "application/json; charset=UTF-8"


async def test_events_of_one_run_arrive_in_order_despite_intermittent_failures(
    make_proxy: ProxyFactory, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    chance = random.Random(7)

    async def flaky(event: dict[str, Any]) -> int:
        return 500 if chance.random() < 0.4 else 200

    receiver.answer = flaky
    proxy = await make_proxy(retry_base=0.005, retry_max=0.05)
    builds = [build_events(f"job{n % 4}", n) for n in range(20)]

    await post_builds_in_order(http, proxy, builds)
    await receiver.wait_for(80)

    assert len(receiver.attempts) > 80  # some attempts did fail
    assert all(types == list(RUN_TYPES) for types in types_by_run(receiver).values())
    assert len(types_by_run(receiver)) == 20


async def test_a_slow_run_does_not_hold_back_other_runs(
    make_proxy: ProxyFactory, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    b_through = asyncio.Event()

    async def slow_for_job_a(event: dict[str, Any]) -> int:
        if event["data"]["_projectName"] == "a":
            await b_through.wait()  # answered once run b is through, or never
        return 200

    receiver.answer = slow_for_job_a
    # The forward timeout outlasts the wait below, so b cannot get through by a timing out.
    proxy = await make_proxy(timeout=60.0, batch=1)  # a batch is as slow as its slowest event

    await post_builds_in_order(http, proxy, [build_events("a", 1), build_events("b", 1)])
    try:
        await receiver.wait_for(4)
    finally:
        b_through.set()

    first_four = [received.event["data"]["_projectName"] for received in receiver.delivered[:4]]
    assert first_four == ["b", "b", "b", "b"]


async def test_a_receiver_outage_loses_and_repeats_nothing(
    make_proxy: ProxyFactory, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    proxy = await make_proxy(retry_max=0.5)
    await receiver.stop()
    builds = [build_events(f"job{n}", n) for n in range(10)]

    await post_builds_in_order(http, proxy, builds)
    for event in builds[0]:  # a client that posts again what it already sent
        await post(http, proxy, event)
    await asyncio.sleep(2.5)
    assert receiver.attempts == []
    await receiver.start()
    await receiver.wait_for(40, within=20)
    await asyncio.sleep(0.3)  # anything extra would arrive now

    sent = sorted(event["id"] for events in builds for event in events)
    assert sorted(receiver.delivered_ids()) == sent
    assert proxy.queue_depth() == 0


async def test_a_refused_event_is_dead_lettered_and_its_run_carries_on(
    make_proxy: ProxyFactory, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async def refuse_started(event: dict[str, Any]) -> int:
        return 422 if event["type"] == "run.started" else 200

    receiver.answer = refuse_started
    proxy = await make_proxy()
    events = build_events("build", 1)

    await post_builds_in_order(http, proxy, [events])
    await receiver.wait_for(3)

    assert [r.event["type"] for r in receiver.delivered] == [
        "run.initialize",
        "run.completed",
        "run.finalized",
    ]
    assert await proxy.outbox.dead_letters() == [(events[1]["id"], "run.started", 422, "rejected")]
    assert len(receiver.attempts) == 4  # the refused event was tried once


async def test_a_rejected_token_is_retried_not_dead_lettered(
    make_proxy: ProxyFactory, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    answers = iter([401, 403, 401])

    async def unauthorized_at_first(event: dict[str, Any]) -> int:
        return next(answers, 200)

    receiver.answer = unauthorized_at_first
    proxy = await make_proxy()
    event = run_event("build", 1, "run.started")

    await post(http, proxy, event)
    await receiver.wait_for(1)

    assert [r.status for r in receiver.attempts] == [401, 403, 401, 200]
    assert await proxy.outbox.dead_letters() == []


async def test_a_delivery_that_times_out_is_retried(
    make_proxy: ProxyFactory, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    calls = 0

    async def hang_once(event: dict[str, Any]) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(1.0)
        return 200

    receiver.answer = hang_once
    proxy = await make_proxy(timeout=0.3)

    await post(http, proxy, run_event("build", 1, "run.started"))
    await receiver.wait_for(2)

    assert calls == 2
    assert await metric(http, proxy, 'workbench_event_proxy_failures_total{reason="timeout"}') == 1


async def test_the_rate_limit_spaces_deliveries(
    make_proxy: ProxyFactory, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    proxy = await make_proxy(qps=50, burst=5, concurrency=16, batch=1)  # a post an event
    events = [run_event(f"job{n}", 1, "run.started") for n in range(100)]
    started = time.monotonic()

    await asyncio.gather(*(post(http, proxy, event) for event in events))
    delivered = await receiver.wait_for(100, within=30)

    elapsed = delivered[-1].at - started
    assert elapsed >= 1.8  # 5 at once, then 95 at 50 a second
    assert elapsed < 10  # and not throttled far below it (the exact rate: test_policy)


async def deliver_as_backlog(
    make_proxy: ProxyFactory,
    receiver: Receiver,
    http: aiohttp.ClientSession,
    builds: list[list[dict[str, Any]]],
) -> None:
    """Post `builds` while the receiver is down, then wait for it to get them all."""
    proxy = await make_proxy()
    await receiver.stop()
    await post_builds_in_order(http, proxy, builds)
    await receiver.start()
    await receiver.wait_for(sum(len(events) for events in builds))


async def test_a_backlog_goes_in_batches_that_carry_each_body_verbatim(
    make_proxy: ProxyFactory, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    builds = [build_events(f"job{n}", n) for n in range(5)]

    await deliver_as_backlog(make_proxy, receiver, http, builds)

    batches = [body for path, body in receiver.posts if path.endswith(":batch")]
    alone = [body for path, body in receiver.posts if not path.endswith(":batch")]
    assert batches, "the backlog was not batched"
    sent = [json.dumps(event, indent=4).encode() for events in builds for event in events]
    assert all(body in alone or any(body in batch for batch in batches) for body in sent)
    assert all(types == list(RUN_TYPES) for types in types_by_run(receiver).values())
    batched = [r for r in receiver.delivered if r.batched]
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in batched)
    assert all(r.headers["X-Workbench-Jenkins"] == INSTANCE for r in batched)


async def test_a_receiver_without_the_batch_path_gets_every_event_alone(
    make_proxy: ProxyFactory,
    receiver: Receiver,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver.batches = False
    builds = [build_events(f"job{n}", n) for n in range(3)]

    await deliver_as_backlog(make_proxy, receiver, http, builds)
    await asyncio.sleep(0.1)

    tried = [path for path, _ in receiver.posts if path.endswith(":batch")]
    assert 1 <= len(tried) <= 8  # by the posts in flight when the first answer came
    assert sum("takes single events" in r.message for r in caplog.records) == 1
    assert len(receiver.delivered) == 12 and not any(r.batched for r in receiver.delivered)
    assert all(types == list(RUN_TYPES) for types in types_by_run(receiver).values())
