"""Fixtures for event-proxy: proxies on free ports, and a fake devops-server to forward to.

The fake receiver is a real aiohttp server on a port reserved for the test. It speaks
devops-server's two ways in: single envelopes on the webhook path, and arrays of them on
`<path>:batch`, answered with one result per event. It records every event it gets (an
attempt each) and answers what the test tells it to (`answer`, called per event, may sleep
or return any status; in a batch, 401, 403, 408 and 429 answer the whole post, as a token or
a throttle would, and any other status is the event's own). `stop()` closes the port, so the
proxy sees connection refused until `start()` opens it again on the same port.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from services.event_proxy import EventProxy, EventProxySettings
from services.event_proxy.app import AMAMBA_WEBHOOK_PATH
from tests.conftest import free_port

TOKEN = "test-token-7f3a"
INSTANCE = "jenkins-east"
RUN_TYPES = ("run.initialize", "run.started", "run.completed", "run.finalized")


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int
    at: float
    batched: bool = False

    @property
    def event(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


Answer = Callable[[dict[str, Any]], Awaitable[int]]


async def always_ok(event: dict[str, Any]) -> int:
    return 200


@dataclass
class Receiver:
    """A stand-in for devops-server's webhook."""

    port: int
    answer: Answer = always_ok
    batches: bool = True  # False: no batch path (404 there), like an older devops-server
    attempts: list[Received] = field(default_factory=list)
    posts: list[tuple[str, bytes]] = field(default_factory=list)  # (path, body)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{AMAMBA_WEBHOOK_PATH}"

    @property
    def delivered(self) -> list[Received]:
        return [attempt for attempt in self.attempts if 200 <= attempt.status < 300]

    def delivered_ids(self) -> list[str]:
        return [attempt.event["id"] for attempt in self.delivered]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for(self, count: int, within: float = 10.0) -> list[Received]:
        """Wait until `count` events were delivered (answered 2xx)."""
        await _until(lambda: len(self.delivered) >= count, within, f"{count} deliveries")
        return self.delivered

    async def wait_for_attempts(self, count: int, within: float = 10.0) -> None:
        """Wait until `count` requests arrived, whatever they were answered."""
        await _until(lambda: len(self.attempts) >= count, within, f"{count} attempts")

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        self.posts.append((request.path, body))
        if not request.path.endswith(":batch"):
            status = await self.answer(json.loads(body))
            self.attempts.append(Received(headers, body, status, time.monotonic()))
            return web.Response(status=status)
        if not self.batches:
            return web.Response(status=404)

        events = json.loads(body)
        statuses: list[int] = []
        failed: dict[str, int] = {}  # a run's later events wait behind its failed one
        for event in events:
            statuses.append(failed.get(event["url"]) or await self.answer(event))
            if statuses[-1] >= 500:
                failed.setdefault(event["url"], statuses[-1])
        whole = next((s for s in statuses if s in (401, 403, 408, 429)), None)
        at = time.monotonic()
        for event, status in zip(events, statuses, strict=True):
            element = json.dumps(event).encode()
            self.attempts.append(Received(headers, element, whole or status, at, batched=True))
        if whole is not None:
            return web.Response(status=whole)
        results = [{"id": e["id"], "status": s} for e, s in zip(events, statuses, strict=True)]
        return web.json_response({"results": results})


async def _until(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {within} s")
        await asyncio.sleep(0.01)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    fake = Receiver(free_port())
    await fake.start()
    yield fake
    await fake.stop()


ProxyFactory = Callable[..., Awaitable[EventProxy]]


@pytest.fixture
async def make_proxy(tmp_path: Path, receiver: Receiver) -> AsyncIterator[ProxyFactory]:
    """Start event-proxies forwarding to `receiver`, fast retries, outbox under tmp_path."""
    started: list[EventProxy] = []

    async def make(**overrides: Any) -> EventProxy:
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": 0,
            "outbox_dir": tmp_path / "outbox",
            "target_url": receiver.url,
            "token": TOKEN,
            "instance": INSTANCE,
            "retry_base": 0.02,
            "retry_max": 0.3,
            "timeout": 1.0,
            "shutdown_grace": 0.5,
        }
        values.update(overrides)
        proxy = EventProxy(EventProxySettings.model_validate(values))
        await proxy.start()
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        if proxy.port and proxy._runner is not None:
            await proxy.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def run_event(
    job: str, number: int, type_: str, *, event_id: str | None = None, folder: str = "ws"
) -> dict[str, Any]:
    """A Generic Event envelope for a WorkflowRun, shaped like the plugin's."""
    finished = type_ in ("run.completed", "run.finalized")
    return {
        "id": event_id or str(uuid.uuid4()),
        "type": type_,
        "source": f"job/{folder}/job/{job}/",
        "url": f"job/{folder}/job/{job}/{number}/",
        "time": "2024-05-06T13:48:15.041+0800",
        "dataType": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
        "metaData": None,
        "data": {
            "_class": "io.jenkins.plugins.generic.event.data.WorkflowRunData",
            "_parentFullName": folder,
            "_projectName": job,
            "id": str(number),
            "number": number,
            "building": not finished,
            "result": "SUCCESS" if finished else None,
        },
    }


def build_events(job: str, number: int) -> list[dict[str, Any]]:
    """The four events of one build, in the order Jenkins sends them."""
    return [run_event(job, number, type_) for type_ in RUN_TYPES]


async def post(
    http: aiohttp.ClientSession,
    proxy: EventProxy,
    event: dict[str, Any] | bytes,
    *,
    path: str = "/event",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST an event (pretty-printed like the plugin) and return status and JSON answer."""
    body = event if isinstance(event, bytes) else json.dumps(event, indent=4).encode()
    sent = {"Content-Type": "application/json; charset=UTF-8"}
    if isinstance(event, dict):
        sent["X-Event-Type"] = event["type"]
        sent["Referrer"] = "http://jenkins.example:8080/"
    sent.update(headers or {})
    async with http.post(f"http://127.0.0.1:{proxy.port}{path}", data=body, headers=sent) as r:
        answer: dict[str, Any] = await r.json(content_type=None)
        return r.status, answer


async def metric(http: aiohttp.ClientSession, proxy: EventProxy, name: str) -> float:
    """The value of one sample in the proxy's /metrics (0 when absent)."""
    async with http.get(f"http://127.0.0.1:{proxy.port}/metrics") as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
