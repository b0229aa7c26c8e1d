"""`python -m bench.events`: event-proxy between a load of Jenkins builds and a fast receiver.

event-proxy runs as its own process (`python -m services.event_proxy`, as in production) on
loopback with a fresh outbox. This process plays both ends: many concurrent builds, each
posting its four run events one after the other as the plugin does, and a minimal receiver
standing in for devops-server that notes when each event arrives. Both ends share one clock,
so latency is measured from the moment an event is posted to the proxy to the moment the
receiver has it (outbox fsync, queueing, rate limit and forwarding included).

`--target URL` forwards to a real devops-server instead (give `--token`); the receiver is not
started then, and the forwarded rate is read from the proxy's metrics as its queue drains.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from sandbox.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
RUN_TYPES = ("run.initialize", "run.started", "run.completed", "run.finalized")
PREFIX = "workbench_event_proxy"


@dataclass
class Clock:
    posted: dict[str, float] = field(default_factory=dict)
    accepted: dict[str, float] = field(default_factory=dict)
    arrived: dict[str, float] = field(default_factory=dict)


def envelope(job: str, number: int, type_: str) -> tuple[str, bytes]:
    """A run event shaped and sized like the plugin's (pretty-printed, about 1.5 KB)."""
    finished = type_ in ("run.completed", "run.finalized")
    event_id = str(uuid.uuid4())
    event = {
        "id": event_id,
        "type": type_,
        "source": f"job/bench/job/{job}/",
        "url": f"job/bench/job/{job}/{number}/",
        "time": "2024-05-06T13:48:15.041+0800",
        "dataType": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
        "metaData": None,
        "data": {
            "_class": "io.jenkins.plugins.generic.event.data.WorkflowRunData",
            "actions": [
                {
                    "_class": "hudson.model.CauseAction",
                    "causes": [
                        {
                            "_class": "hudson.model.Cause$UserIdCause",
                            "shortDescription": "Started by user admin",
                            "userId": "admin",
                            "userName": "admin",
                        }
                    ],
                },
                {
                    "_class": "hudson.model.ParametersAction",
                    "parameters": [
                        {
                            "_class": "hudson.model.StringParameterValue",
                            "name": "ENV",
                            "value": "dev",
                        }
                    ],
                },
                {},
            ],
            "artifacts": [],
            "building": not finished,
            "description": None,
            "displayName": f"#{number}",
            "duration": 5000 if finished else 0,
            "estimatedDuration": 5000,
            "executor": None if finished else {"_class": "hudson.model.OneOffExecutor"},
            "fullDisplayName": f"bench » {job} #{number}",
            "id": str(number),
            "keepLog": False,
            "number": number,
            "queueId": number,
            "result": "SUCCESS" if finished else None,
            "timestamp": 1714974495041,
            "changeSets": [],
            "culprits": [],
            "nextBuild": None,
            "previousBuild": None,
            "_multiBranch": False,
            "_parentFullName": "bench",
            "_projectName": job,
        },
    }
    return event_id, json.dumps(event, indent=4).encode()


async def start_receiver(clock: Clock) -> tuple[web.AppRunner, int]:
    async def receive(request: web.Request) -> web.Response:
        """One envelope, or a batch of them answered one result each, as devops-server."""
        body = await request.read()
        now = time.perf_counter()
        if not request.path.endswith(":batch"):
            clock.arrived.setdefault(json.loads(body)["id"], now)
            return web.Response()
        ids = [event["id"] for event in json.loads(body)]
        for event_id in ids:
            clock.arrived.setdefault(event_id, now)
        return web.json_response({"results": [{"id": i, "status": 200} for i in ids]})

    app = web.Application()
    app.router.add_post("/{path:.*}", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, int(runner.addresses[0][1])


async def start_proxy(
    target: str, token: str, qps: float, burst: int, concurrency: int, outbox: Path
) -> tuple[asyncio.subprocess.Process, int]:
    port = free_port()
    env = {
        **os.environ,
        "WORKBENCH_EVENT_PROXY_PORT": str(port),
        "WORKBENCH_EVENT_PROXY_OUTBOX_DIR": str(outbox),
        "WORKBENCH_EVENT_PROXY_TARGET_URL": target,
        "WORKBENCH_EVENT_PROXY_TOKEN": token,
        "WORKBENCH_EVENT_PROXY_QPS": str(qps),
        "WORKBENCH_EVENT_PROXY_BURST": str(burst),
        "WORKBENCH_EVENT_PROXY_CONCURRENCY": str(concurrency),
        "WORKBENCH_EVENT_PROXY_INSTANCE": "bench",
        "WORKBENCH_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.event_proxy", cwd=ROOT, env=env
    )
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return process, port
            await asyncio.sleep(0.05)
    process.kill()
    raise SystemExit("event-proxy did not become ready")


async def drive(port: int, builds: int, concurrency: int, clock: Clock) -> float:
    """Post `builds` builds, `concurrency` at a time; the seconds it took to post them all."""
    url = f"http://127.0.0.1:{port}/event"
    pending = iter(range(builds))
    connector = aiohttp.TCPConnector(limit=concurrency)

    async with aiohttp.ClientSession(connector=connector) as http:
        # Bodies are made before the clock starts, so the client's JSON work is not measured.
        bodies = {
            number: [envelope(f"job{number % 100}", number, type_) for type_ in RUN_TYPES]
            for number in range(builds)
        }

        async def one_build(number: int) -> None:
            for type_, (event_id, body) in zip(RUN_TYPES, bodies[number], strict=True):
                headers = {"Content-Type": "application/json; charset=UTF-8", "X-Event-Type": type_}
                clock.posted[event_id] = time.perf_counter()
                async with http.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        raise SystemExit(f"event-proxy answered {response.status}")
                clock.accepted[event_id] = time.perf_counter()

        async def lane() -> None:
            for number in pending:
                await one_build(number)

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        return time.perf_counter() - started


async def scrape(port: int) -> dict[str, float]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        text = await response.text()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(PREFIX):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(args: argparse.Namespace) -> None:
    clock = Clock()
    receiver: web.AppRunner | None = None
    target = args.target
    external = target is not None
    total = args.builds * 4
    if target is None:
        receiver, receiver_port = await start_receiver(clock)
        target = f"http://127.0.0.1:{receiver_port}/webhooks/jenkins"

    with tempfile.TemporaryDirectory(prefix="bench-event-proxy-") as folder:
        process, port = await start_proxy(
            target, args.token, args.qps, args.burst, args.forwarders, Path(folder)
        )
        try:
            await drive(port, args.warmup, args.concurrency, clock)
            await _drained(port, clock, external=external)
            clock = Clock(arrived=clock.arrived)  # the receiver keeps writing to `arrived`
            clock.arrived.clear()

            cpu_before = cpu_seconds(process.pid)
            started = time.perf_counter()
            posting = await drive(port, args.builds, args.concurrency, clock)
            await _drained(port, clock, external=external)
            forwarding = time.perf_counter() - started
            proxy_cpu = cpu_seconds(process.pid) - cpu_before
            metrics = await scrape(port)
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
            if receiver is not None:
                await receiver.cleanup()

    accept = [(clock.accepted[i] - clock.posted[i]) * 1000 for i in clock.posted]
    print(f"builds {args.builds} x 4 events, {args.concurrency} concurrent builds, "
          f"qps limit {args.qps or 'off'}, {args.forwarders} forwarders")  # fmt: skip
    print(f"accepted  {total / posting:8.0f} events/s   post->200 p50 "
          f"{statistics.median(accept):.2f} ms  p99 {percentile(accept, 0.99):.2f} ms")  # fmt: skip
    print(f"forwarded {total / forwarding:8.0f} events/s", end="")
    if not external:
        e2e = [(clock.arrived[i] - clock.posted[i]) * 1000 for i in clock.posted]
        print(f"   post->receiver p50 {statistics.median(e2e):.2f} ms  "
              f"p99 {percentile(e2e, 0.99):.2f} ms", end="")  # fmt: skip
    print()
    print(f"proxy CPU {proxy_cpu * 1e6 / total:.0f} µs per event (user + system, all threads)")
    failures = {
        name: value
        for name, value in metrics.items()
        if ("failures_total" in name or "dead_letters_total" in name) and value
    }
    print(f"proxy failures: {failures or 'none'}")


async def _drained(port: int, clock: Clock, *, external: bool) -> None:
    """Wait until every event posted so far reached the receiver and left the proxy's queue."""
    while True:
        arrived = external or len(clock.arrived) >= len(clock.posted)
        if arrived and (await scrape(port)).get(f"{PREFIX}_queue_depth", 1) == 0:
            return
        await asyncio.sleep(0.01)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.events", description=__doc__)
    parser.add_argument("--builds", type=int, default=2500, help="builds to post (4 events each)")
    parser.add_argument("--concurrency", type=int, default=64, help="builds posting at once")
    parser.add_argument("--warmup", type=int, default=100, help="builds posted before measuring")
    parser.add_argument("--qps", type=float, default=0, help="proxy rate limit (0: off)")
    parser.add_argument("--burst", type=int, default=100, help="proxy rate-limit burst")
    parser.add_argument("--forwarders", type=int, default=4, help="proxy delivery concurrency")
    parser.add_argument("--target", help="forward to this URL instead of the built-in receiver")
    parser.add_argument("--token", default="bench-token", help="token sent to --target")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
