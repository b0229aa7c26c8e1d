"""Benchmark: a cheap read through the REST gateway against the same read over gRPC.

`python -m bench.transcoding` starts, in a child process, a grpc.aio server and a uvicorn
server running `libs.transcoding.Gateway` over the same servicer and interceptors, then
measures from this process, one request at a time over one keep-alive connection each:
p50, p99 and requests per second for both, and the REST/gRPC ratio at p50 (target <= 1.3).
REST is timed with a minimal HTTP/1.1 client and gRPC with a minimal HTTP/2 one, so the
ratio compares the servers; grpc.aio is timed as well, for reference.

The measuring functions take an address, so they can be pointed at the real apiserver:
`measure_rest("127.0.0.1", 8080, "/apis/...", headers=...)`,
`measure_grpc("127.0.0.1", 9090, "/pkg.Service/Method", request, Response(), metadata=...)`
and `measure_grpc_aio(lambda: stub.Method(request, metadata=...))`.
"""

from bench.transcoding.harness import (
    Stats,
    measure_grpc,
    measure_grpc_aio,
    measure_rest,
    report,
)

__all__ = ["Stats", "measure_grpc", "measure_grpc_aio", "measure_rest", "report"]
