"""Latency measurement for one REST endpoint and one gRPC call, with clients of one kind.

REST is timed with a minimal HTTP/1.1 keep-alive client written on asyncio streams, gRPC
with a minimal HTTP/2 client on the same streams (`grpc_client.GrpcH2Client`), so neither
side pays for a client library's extras; the p50 ratio and the target verdict compare these
two. grpc.aio, the usual Python client, is measured too (`measure_grpc_aio`) and printed for
reference only. The clients are still not equally cheap: HPACK and HTTP/2 framing in pure
Python cost more than writing one fixed request line, so each line also shows the client's
own CPU time per request (this process's CPU time over the run), to tell it from the
server's. Requests are sequential (`concurrency=1`) by default, which is what p50 means for
a single caller; more connections give throughput.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.transcoding.grpc_client import GrpcH2Client, Message


@dataclass(frozen=True)
class Stats:
    name: str
    requests: int
    p50_ms: float
    p99_ms: float
    rps: float
    client_cpu_ms: float  # this process's CPU time per request: what the client costs

    def line(self) -> str:
        return (
            f"{self.name:<8} n={self.requests:<6} p50={self.p50_ms:7.3f} ms  "
            f"p99={self.p99_ms:7.3f} ms  {self.rps:9.0f} req/s  "
            f"client CPU {self.client_cpu_ms:.3f} ms/req"
        )


def _stats(name: str, latencies: list[float], elapsed: float, cpu: float) -> Stats:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Stats(
        name=name,
        requests=len(ordered),
        p50_ms=statistics.median(ordered) * 1e3,
        p99_ms=p99 * 1e3,
        rps=len(ordered) / elapsed,
        client_cpu_ms=cpu / len(ordered) * 1e3,
    )


class _KeepAliveClient:
    """One HTTP/1.1 connection: prepared requests, responses with a Content-Length."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> _KeepAliveClient:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._writer is not None:
            self._writer.close()

    async def get(self, request: bytes) -> tuple[int, bytes]:
        assert self._reader is not None and self._writer is not None
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self._reader.readexactly(length)
        return status, body


async def measure_rest(
    host: str,
    port: int,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    requests: int = 3000,
    warmup: int = 300,
    concurrency: int = 1,
) -> Stats:
    """Latency of `GET path` on a REST server, or of `POST path` with a JSON `body` (each
    worker keeps one connection)."""
    verb = "GET" if body is None else "POST"
    lines = [f"{verb} {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{key}: {value}" for key, value in (headers or {}).items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")

    async def worker(count: int, latencies: list[float]) -> None:
        async with _KeepAliveClient(host, port) as client:
            for _ in range(count):
                started = time.perf_counter()
                status, _ = await client.get(raw)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    raise RuntimeError(f"{verb} {path} answered {status}")

    await worker(warmup, [])
    return await _run("REST", worker, requests, concurrency)


async def measure_grpc(
    host: str,
    port: int,
    method: str,
    request: Message,
    response: Message,
    *,
    metadata: Sequence[tuple[str, str]] = (),
    requests: int = 3000,
    warmup: int = 300,
    concurrency: int = 1,
) -> Stats:
    """Latency of the unary call `method` ("/package.Service/Method") with the minimal
    HTTP/2 client (each worker keeps one connection); `response` is an instance to fill."""

    async def worker(count: int, latencies: list[float]) -> None:
        async with GrpcH2Client(host, port, metadata=metadata) as client:
            for _ in range(count):
                started = time.perf_counter()
                await client.call(method, request, response)
                latencies.append(time.perf_counter() - started)

    await worker(warmup, [])
    return await _run("gRPC", worker, requests, concurrency)


async def measure_grpc_aio(
    call: Callable[[], Awaitable[Any]],
    *,
    requests: int = 3000,
    warmup: int = 300,
    concurrency: int = 1,
) -> Stats:
    """Latency of a grpc.aio call (`call` makes one, e.g. `lambda: stub.Get(req)`)."""

    async def worker(count: int, latencies: list[float]) -> None:
        for _ in range(count):
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    await worker(warmup, [])
    return await _run("grpc.aio", worker, requests, concurrency)


async def _run(
    name: str,
    worker: Callable[[int, list[float]], Awaitable[None]],
    requests: int,
    concurrency: int,
) -> Stats:
    latencies: list[float] = []
    share = max(1, requests // concurrency)
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(share, latencies) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return _stats(name, latencies, elapsed, time.process_time() - cpu)


def report(rest: Stats, grpc: Stats, *, reference: Stats | None = None, target: float = 1.3) -> str:
    """The lines and the p50 ratio of the two minimal clients against the target;
    `reference` (grpc.aio) is printed below, outside the ratio."""
    ratio = rest.p50_ms / grpc.p50_ms
    verdict = "within" if ratio <= target else "OVER"
    lines = [
        rest.line(),
        grpc.line(),
        f"REST/gRPC p50 ratio: {ratio:.2f} ({verdict} the {target}x target); "
        f"p99 ratio {rest.p99_ms / grpc.p99_ms:.2f}; rps ratio {rest.rps / grpc.rps:.2f}",
    ]
    if reference is not None:
        lines.append(f"{reference.line()}  (the usual Python client, for reference)")
    return "\n".join(lines)
