"""Benchmark: a cheap read through the REST gateway against the same read over gRPC.

`python -m bench.transcoding` starts, in a child process, a grpc.aio server and a uvicorn
server running `libs.transcoding.Gateway` over the same servicer and interceptors, then
measures from this process, one request at a time over one keep-alive connection each:
p50, p99 and requests per second for both, and the REST/gRPC ratio at p50 (target <= 1.3).

The measuring functions take an address or a stub call, so they can be pointed at the real
apiserver: `measure_rest("127.0.0.1", 8080, "/apis/...", headers=...)` and
`measure_grpc(lambda: stub.Method(request, metadata=...))`.
"""

from bench.transcoding.harness import Stats, measure_grpc, measure_rest, report

__all__ = ["Stats", "measure_grpc", "measure_rest", "report"]
