"""Latency measurement for one REST endpoint and one gRPC call, fair to both sides.

REST goes through a minimal HTTP/1.1 keep-alive client written on asyncio streams, so the
figure is the server's cost plus the loopback, not an HTTP client library's; gRPC goes
through a grpc.aio channel, its usual client. Requests are sequential (`concurrency=1`) by
default, which is what p50 means for a single caller; more connections give throughput.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stats:
    name: str
    requests: int
    p50_ms: float
    p99_ms: float
    rps: float

    def line(self) -> str:
        return (
            f"{self.name:<6} n={self.requests:<6} p50={self.p50_ms:7.3f} ms  "
            f"p99={self.p99_ms:7.3f} ms  {self.rps:9.0f} req/s"
        )


def _stats(name: str, latencies: list[float], elapsed: float) -> Stats:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Stats(
        name=name,
        requests=len(ordered),
        p50_ms=statistics.median(ordered) * 1e3,
        p99_ms=p99 * 1e3,
        rps=len(ordered) / elapsed,
    )


class _KeepAliveClient:
    """One HTTP/1.1 connection, GET requests with Content-Length responses."""

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
    requests: int = 3000,
    warmup: int = 300,
    concurrency: int = 1,
) -> Stats:
    """Latency of `GET path` on a REST server (each worker keeps one connection)."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{key}: {value}" for key, value in (headers or {}).items()]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def worker(count: int, latencies: list[float]) -> None:
        async with _KeepAliveClient(host, port) as client:
            for _ in range(count):
                started = time.perf_counter()
                status, _ = await client.get(raw)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    raise RuntimeError(f"GET {path} answered {status}")

    await worker(warmup, [])
    return await _run("REST", worker, requests, concurrency)


async def measure_grpc(
    call: Callable[[], Awaitable[Any]],
    *,
    requests: int = 3000,
    warmup: int = 300,
    concurrency: int = 1,
) -> Stats:
    """Latency of a gRPC call (`call` makes one, e.g. `lambda: stub.Get(req)`)."""

    async def worker(count: int, latencies: list[float]) -> None:
        for _ in range(count):
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    await worker(warmup, [])
    return await _run("gRPC", worker, requests, concurrency)


async def _run(
    name: str,
    worker: Callable[[int, list[float]], Awaitable[None]],
    requests: int,
    concurrency: int,
) -> Stats:
    latencies: list[float] = []
    share = max(1, requests // concurrency)
    started = time.perf_counter()
    await asyncio.gather(*(worker(share, latencies) for _ in range(concurrency)))
    return _stats(name, latencies, time.perf_counter() - started)


def report(rest: Stats, grpc: Stats, *, target: float = 1.3) -> str:
    """The two lines and the p50 ratio against the target."""
    ratio = rest.p50_ms / grpc.p50_ms
    verdict = "within" if ratio <= target else "OVER"
    return "\n".join(
        [
            rest.line(),
            grpc.line(),
            f"REST/gRPC p50 ratio: {ratio:.2f} ({verdict} the {target}x target); "
            f"p99 ratio {rest.p99_ms / grpc.p99_ms:.2f}; rps ratio {rest.rps / grpc.rps:.2f}",
        ]
    )
