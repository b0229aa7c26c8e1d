"""/metrics: the queue, the flow and the failures, as Prometheus reads them."""

from __future__ import annotations

import asyncio

import aiohttp

from services.event_proxy import EventProxy
from tests.conftest import eventually
from tests.event_proxy.conftest import ProxyFactory, Receiver, build_events, metric, post

P = "workbench_event_proxy"


async def reaches(http: aiohttp.ClientSession, proxy: EventProxy, name: str, value: float) -> None:
    """Wait until the metric `name` reads `value`."""

    async def read() -> bool:
        return await metric(http, proxy, name) == value

    await eventually(read)


async def test_metrics_show_a_backlog_while_the_receiver_is_down(
    make_proxy: ProxyFactory, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    await receiver.stop()
    proxy = await make_proxy()
    for event in build_events("build", 1):
        await post(http, proxy, event)
    await asyncio.sleep(0.4)

    async def failed() -> bool:
        return await metric(http, proxy, f'{P}_failures_total{{reason="connection"}}') >= 1

    await eventually(failed)
    assert await metric(http, proxy, f"{P}_queue_depth") == 4
    assert await metric(http, proxy, f"{P}_oldest_event_age_seconds") >= 0.4
    assert await metric(http, proxy, f'{P}_received_total{{type="run.started"}}') == 1
    assert await metric(http, proxy, f'{P}_forwarded_total{{type="run.started"}}') == 0


async def test_metrics_show_the_backlog_drained_once_the_receiver_is_back(
    make_proxy: ProxyFactory, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    await receiver.stop()
    proxy = await make_proxy()
    for event in build_events("build", 1):
        await post(http, proxy, event)
    await receiver.start()
    await receiver.wait_for(4)
    await reaches(http, proxy, f"{P}_queue_depth", 0)  # settled just after delivery

    assert await metric(http, proxy, f"{P}_oldest_event_age_seconds") == 0
    assert await metric(http, proxy, f'{P}_forwarded_total{{type="run.finalized"}}') == 1
    posts = len(receiver.posts)  # the backlog goes in as few posts as it fits in
    assert await metric(http, proxy, f"{P}_forward_latency_seconds_count") == posts


async def test_dead_letters_are_counted(
    make_proxy: ProxyFactory, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async def refuse(event: object) -> int:
        return 400

    receiver.answer = refuse
    proxy = await make_proxy()
    for event in build_events("build", 1)[:2]:
        await post(http, proxy, event)
    await receiver.wait_for_attempts(2)
    await reaches(http, proxy, f"{P}_dead_letters_total", 2)  # settled just after the answer

    assert await metric(http, proxy, f'{P}_failures_total{{reason="rejected"}}') == 2
    assert await metric(http, proxy, f"{P}_queue_depth") == 0
