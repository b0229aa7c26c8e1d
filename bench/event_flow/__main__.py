"""`python -m bench.event_flow`: Jenkins events through event-proxy into devops-server.

Everything runs as its own process on loopback, as deployed: devops-server and apiserver on a
fresh database (`BENCH_DATABASE_URL`, default the local server), and event-proxy forwarding
to devops-server with the internal token. This process plays Jenkins: many concurrent builds
of real pipelines (rows of a workspace), each posting its four run events in order, shaped
like the Generic Event plugin's.

Two measures:
1. Throughput: every build's events posted at once (`--builds`, `--concurrency`); sustained
   events per second from the first post until devops-server has applied the last one (read
   from its metrics).
2. Lag, below that rate: builds one after another at `--lag-rate` events per second; for
   each, the time from posting its last event to event-proxy until the run reads SUCCESS over
   REST (polled every 2 ms): p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg
from cryptography.fernet import Fernet

from bench.apiserver.__main__ import free_port, wait_for_port
from bench.events.__main__ import RUN_TYPES, cpu_seconds, envelope, start_proxy
from libs.auth.tokens import mint

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parents[2]
PIPELINES = 200


def build_events(workspace_id: int, pipeline: str, number: int) -> list[tuple[str, bytes]]:
    """The four envelopes of build `number` of `pipeline`, addressed to its workspace folder."""
    made = []
    for type_ in RUN_TYPES:
        event_id, body = envelope(pipeline, number, type_)
        event = json.loads(body)
        event["source"] = f"job/{workspace_id}/job/{pipeline}/"
        event["url"] = f"job/{workspace_id}/job/{pipeline}/{number}/"
        event["data"]["_parentFullName"] = str(workspace_id)
        made.append((event_id, json.dumps(event, indent=4).encode()))
    return made


async def applied(http: aiohttp.ClientSession, devops_http: int, sample: str = "") -> float:
    """The sum of devops-server's samples named `sample` (by default, events applied)."""
    async with http.get(f"http://127.0.0.1:{devops_http}/metrics") as response:
        text = await response.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(sample or "workbench_events_applied_total{")
    )


async def post(http: aiohttp.ClientSession, proxy: int, body: bytes) -> None:
    async with http.post(
        f"http://127.0.0.1:{proxy}/event",
        data=body,
        headers={"Content-Type": "application/json; charset=UTF-8"},
    ) as response:
        await response.read()
        if response.status != 200:
            raise SystemExit(f"event-proxy answered {response.status}")


class Poster:
    """A plain HTTP/1.1 client on one kept-alive connection, playing Jenkins's side cheaply.

    The posts stand for Jenkins, which runs on another machine in production: the less CPU
    this process takes from the two cores, the more the figures say about Workbench.
    """

    def __init__(self, port: int) -> None:
        self._port = port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, body: bytes) -> None:
        if self._streams is None:
            self._streams = await asyncio.open_connection("127.0.0.1", self._port)
        reader, writer = self._streams
        writer.write(
            b"POST /event HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json; charset=UTF-8\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        if status != 200:
            raise SystemExit(f"event-proxy answered {status}")

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()


async def throughput(
    http: aiohttp.ClientSession,
    proxy: int,
    devops_http: int,
    workspace_id: int,
    builds: int,
    concurrency: int,
    processes: dict[str, int],
) -> str:
    bodies = [
        build_events(workspace_id, f"p{n % PIPELINES}", 1 + n // PIPELINES) for n in range(builds)
    ]
    before = await applied(http, devops_http)
    posts_before = await applied(http, devops_http, "workbench_events_batch_size_count ")
    posters: asyncio.Queue[Poster] = asyncio.Queue()
    for _ in range(concurrency):
        posters.put_nowait(Poster(proxy))

    async def one(events: list[tuple[str, bytes]]) -> None:
        poster = await posters.get()
        for _, body in events:
            await poster.post(body)
        posters.put_nowait(poster)

    cpu_before = {name: cpu_seconds(pid) for name, pid in processes.items()}
    mine = cpu_seconds(os.getpid())
    started = time.perf_counter()
    await asyncio.gather(*(one(events) for events in bodies))
    posted = time.perf_counter() - started
    while not posters.empty():
        posters.get_nowait().close()
    total = builds * len(RUN_TYPES)
    while True:
        done = await applied(http, devops_http) - before
        if done >= total:
            break
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    cpu = ", ".join(
        f"{name} {(cpu_seconds(pid) - cpu_before[name]) / total * 1e6:.0f} µs"
        for name, pid in processes.items()
    )
    jenkins_side = (cpu_seconds(os.getpid()) - mine) / total * 1e6
    cpu += f", this process (playing Jenkins) {jenkins_side:.0f} µs"
    batched = await applied(http, devops_http, "workbench_events_batch_size_sum ")
    posts = await applied(http, devops_http, "workbench_events_batch_size_count ") - posts_before
    cpu += f"; {batched / max(posts, 1):.0f} events per batch, {posts:.0f} batches"
    return (
        f"throughput: {total} events ({builds} builds x 4, {concurrency} at a time): posted in "
        f"{posted:.2f} s ({total / posted:.0f}/s accepted), all applied after {elapsed:.2f} s "
        f"({total / elapsed:.0f} events/s sustained); CPU per event: {cpu}"
    )


async def lag(
    http: aiohttp.ClientSession,
    proxy: int,
    api: int,
    token: str,
    workspace_id: int,
    builds: int,
    rate: float,
    first_number: int,
) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    lags = []
    gap = len(RUN_TYPES) / rate
    for n in range(builds):
        pipeline = f"p{n % PIPELINES}"
        url = (
            f"http://127.0.0.1:{api}/apis/pipeline.amamba.io/v1alpha1/workspaces/{workspace_id}"
            f"/pipelines/{pipeline}/runs"
        )
        async with http.get(url, params={"pageSize": "1"}, headers=headers) as response:
            newest = (await response.json())["items"]
        expected = int(newest[0]["runId"]) + 1 if newest else 1
        began = time.perf_counter()
        for _, body in build_events(workspace_id, pipeline, first_number + n):
            await post(http, proxy, body)
        posted = time.perf_counter()
        while True:
            async with http.get(url, params={"pageSize": "1"}, headers=headers) as response:
                items = (await response.json())["items"]
            if items and int(items[0]["runId"]) == expected and (items[0]["state"] == "SUCCESS"):
                break
            await asyncio.sleep(0.002)
        lags.append(time.perf_counter() - posted)
        await asyncio.sleep(max(0.0, gap - (time.perf_counter() - began)))
    lags.sort()
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    return (
        f"lag at {rate:.0f} events/s: {builds} builds, last event posted -> run SUCCESS over "
        f"REST: p50 {statistics.median(lags) * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms"
    )


async def main(
    builds: int, concurrency: int, forwarders: int, lag_builds: int, lag_rate: float
) -> None:
    database = f"wb_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(SERVER)
    await admin.execute(f'CREATE DATABASE "{database}"')
    url = SERVER.rsplit("/", 1)[0] + f"/{database}"
    secret, internal = Fernet.generate_key().decode(), uuid.uuid4().hex
    sealing = Fernet.generate_key()
    ports = {name: free_port() for name in ("rest", "grpc", "devops", "devops_http")}
    env = {
        **os.environ,
        "WORKBENCH_DATABASE_URL": url,
        "WORKBENCH_JWT_SECRET": secret,
        "WORKBENCH_INTERNAL_TOKEN": internal,
        "WORKBENCH_ENCRYPTION_KEY": sealing.decode(),
        "WORKBENCH_APISERVER_HTTP_PORT": str(ports["rest"]),
        "WORKBENCH_APISERVER_GRPC_PORT": str(ports["grpc"]),
        "WORKBENCH_DEVOPS_GRPC_PORT": str(ports["devops"]),
        "WORKBENCH_DEVOPS_HTTP_PORT": str(ports["devops_http"]),
        "WORKBENCH_DEVOPS_ADDRESS": f"127.0.0.1:{ports['devops']}",
        "WORKBENCH_LOG_LEVEL": "WARNING",
        "WORKBENCH_PLATFORM_ADMINS": '["admin"]',
        "WORKBENCH_STATE_DIR": tempfile.mkdtemp(prefix="workbench-bench-"),
    }
    children = [
        await asyncio.create_subprocess_exec(sys.executable, "-m", module, env=env, cwd=ROOT)
        for module in ("services.devops_server", "services.apiserver")
    ]
    proxy = None
    try:
        await wait_for_port(ports["rest"])
        await wait_for_port(ports["devops_http"])
        database_connection = await asyncpg.connect(url)
        workspace_id = await database_connection.fetchval(
            "INSERT INTO workspaces (alias) VALUES ('bench') RETURNING id"
        )
        await database_connection.execute(
            "INSERT INTO jenkins_instances (name, address, username, token, options, is_default)"
            " VALUES ('bench', 'http://127.0.0.1:1', 'admin', $1, '{}', true)",
            Fernet(sealing).encrypt(b"not-a-real-token"),
        )
        await database_connection.executemany(
            "INSERT INTO pipelines (workspace_id, name, type, spec, jenkinsfile, disabled,"
            " generation, synced_generation, sync_error, last_run_seq, last_run_state,"
            " total_runs, total_successes, weather)"
            " VALUES ($1, $2, 'CUSTOM', '{}'::jsonb, '', false, 1, 1, '', 0, '', 0, 0, '')",
            [(workspace_id, f"p{n}") for n in range(PIPELINES)],
        )
        await database_connection.close()

        target = (
            f"http://127.0.0.1:{ports['devops_http']}"
            "/apis/internel.amamba.io/devops/pipeline/v1alpha1/webhooks/jenkins"
        )
        outbox = Path(tempfile.mkdtemp(prefix="workbench-bench-outbox-"))
        proxy, proxy_port = await start_proxy(target, internal, 0, 100, forwarders, outbox)
        connector = aiohttp.TCPConnector(limit=concurrency + 4)
        async with aiohttp.ClientSession(connector=connector) as http:
            print(
                await throughput(
                    http,
                    proxy_port,
                    ports["devops_http"],
                    workspace_id,
                    builds,
                    concurrency,
                    {"devops-server": children[0].pid, "event-proxy": proxy.pid},
                )
            )
            first = 1 + builds // PIPELINES + 1
            print(
                await lag(
                    http,
                    proxy_port,
                    ports["rest"],
                    mint("admin", secret),
                    workspace_id,
                    lag_builds,
                    lag_rate,
                    first,
                )
            )
    finally:
        if proxy is not None:
            proxy.terminate()
            await proxy.wait()
        for child in children:
            child.terminate()
        for child in children:
            await child.wait()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.event_flow")
    parser.add_argument("--builds", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--forwarders", type=int, default=8, help="event-proxy's concurrency")
    parser.add_argument("--lag-builds", type=int, default=200)
    parser.add_argument("--lag-rate", type=float, default=200.0)
    args = parser.parse_args()
    asyncio.run(
        main(args.builds, args.concurrency, args.forwarders, args.lag_builds, args.lag_rate)
    )
