"""Restarts: what was answered 200 is delivered, even when the process is killed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp

from tests.conftest import free_port
from tests.event_proxy.conftest import (
    RUN_TYPES,
    TOKEN,
    ProxyFactory,
    Receiver,
    build_events,
    post,
    run_event,
)

ROOT = Path(__file__).resolve().parents[2]


async def start_process(outbox: Path, target: str) -> tuple[asyncio.subprocess.Process, int]:
    """`python -m services.event_proxy` on a free port; returns once it is ready."""
    port = free_port()
    env = {
        **os.environ,
        "WORKBENCH_EVENT_PROXY_PORT": str(port),
        "WORKBENCH_EVENT_PROXY_OUTBOX_DIR": str(outbox),
        "WORKBENCH_EVENT_PROXY_TARGET_URL": target,
        "WORKBENCH_EVENT_PROXY_TOKEN": TOKEN,
        "WORKBENCH_LOG_FORMAT": "text",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.event_proxy",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return process, port
            except aiohttp.ClientConnectionError:
                pass
            if process.returncode is not None or time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                raise AssertionError("event-proxy did not become ready")
            await asyncio.sleep(0.05)


async def test_an_event_answered_200_survives_a_kill(
    make_proxy: ProxyFactory, receiver: Receiver, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    await receiver.stop()
    process, port = await start_process(tmp_path / "outbox", receiver.url)
    event = run_event("build", 1, "run.started")
    try:
        async with http.post(f"http://127.0.0.1:{port}/event", json=event) as response:
            assert response.status == 200
        process.send_signal(signal.SIGKILL)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()

    await receiver.start()
    await make_proxy(outbox_dir=tmp_path / "outbox")
    [got] = await receiver.wait_for(1)

    assert got.event["id"] == event["id"]


async def test_pending_events_are_delivered_in_order_after_a_restart(
    make_proxy: ProxyFactory, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    await receiver.stop()
    proxy = await make_proxy()
    builds = [build_events("build", number) for number in range(1, 6)]
    for events in builds:
        for event in events:
            await post(http, proxy, event)
    await proxy.stop()

    await receiver.start()
    await make_proxy()
    await receiver.wait_for(20)

    for number in range(1, 6):
        url = f"job/ws/job/build/{number}/"
        types = [r.event["type"] for r in receiver.delivered if r.event["url"] == url]
        assert types == list(RUN_TYPES)
