"""`python -m bench.apiserver`: the cost of REST transcoding on the real apiserver.

Starts devops-server and apiserver as their own processes (as deployed) on free ports, against
a fresh database on `BENCH_DATABASE_URL` (default: the local server at 127.0.0.1:5432), then
measures one cheap authenticated read, `Management/ListFeatureGate`, through REST and through
a direct gRPC call: p50, p99, requests per second and their ratio, each side timed with a
minimal client of the same weight (HTTP/1.1 and HTTP/2 on asyncio streams; grpc.aio is
timed too, for reference). The read goes through the whole interceptor chain (request id,
log line, metrics, token check, rule table) both ways.
A second read, `Core/ListVisibleWorkspaces`, adds the hop to devops-server and a query.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import asyncpg
import grpc
from amamba.core.v1alpha1 import core_pb2, core_pb2_grpc, management_pb2, management_pb2_grpc
from cryptography.fernet import Fernet

from bench.transcoding.harness import measure_grpc, measure_grpc_aio, measure_rest, report
from libs.auth.tokens import mint
from sandbox.ports import free_port

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
GATES = "/apis/amamba.io/v1alpha1/management/feature-gates"
WORKSPACES = "/apis/amamba.io/v1alpha1/management/workspaces"


def method_path(module: Any, service: str, method: str) -> str:
    """The HTTP/2 path of a gRPC method, "/package.Service/Method"."""
    descriptor = module.DESCRIPTOR.services_by_name[service]
    return f"/{descriptor.full_name}/{method}"


async def wait_for_port(port: int, seconds: float = 60) -> None:
    for _ in range(int(seconds * 10)):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


async def main(requests: int, concurrency: int) -> None:
    database = f"wb_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(SERVER)
    await admin.execute(f'CREATE DATABASE "{database}"')
    url = SERVER.rsplit("/", 1)[0] + f"/{database}"
    secret = Fernet.generate_key().decode()
    ports = {name: free_port() for name in ("rest", "grpc", "devops", "devops_http")}
    env = {
        **os.environ,
        "WORKBENCH_DATABASE_URL": url,
        "WORKBENCH_JWT_SECRET": secret,
        "WORKBENCH_INTERNAL_TOKEN": uuid.uuid4().hex,
        "WORKBENCH_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "WORKBENCH_APISERVER_HTTP_PORT": str(ports["rest"]),
        "WORKBENCH_APISERVER_GRPC_PORT": str(ports["grpc"]),
        "WORKBENCH_DEVOPS_GRPC_PORT": str(ports["devops"]),
        "WORKBENCH_DEVOPS_HTTP_PORT": str(ports["devops_http"]),
        "WORKBENCH_DEVOPS_ADDRESS": f"127.0.0.1:{ports['devops']}",
        "WORKBENCH_LOG_LEVEL": "WARNING",
        "WORKBENCH_STATE_DIR": tempfile.mkdtemp(prefix="workbench-bench-"),
    }
    children = [
        await asyncio.create_subprocess_exec(sys.executable, "-m", module, env=env)
        for module in ("services.devops_server", "services.apiserver")
    ]
    try:
        await wait_for_port(ports["rest"])
        token = mint("bench", secret)
        headers = {"Authorization": f"Bearer {token}"}
        metadata = (("authorization", f"Bearer {token}"),)
        gates = management_pb2.ListFeatureGateRequest()
        listing = core_pb2.ListVisibleWorkspacesRequest()
        reads: list[tuple[str, str, str, Any, Any, Callable[[Any], Callable[[], Any]]]] = [
            (
                "Management/ListFeatureGate (token check only)",
                GATES,
                method_path(management_pb2, "Management", "ListFeatureGate"),
                gates,
                management_pb2.ListFeatureGatesResponse(),
                lambda channel: partial(
                    management_pb2_grpc.ManagementStub(channel).ListFeatureGate,
                    gates,
                    metadata=metadata,
                ),
            ),
            (
                "Core/ListVisibleWorkspaces (a devops-server call and a query)",
                WORKSPACES,
                method_path(core_pb2, "Core", "ListVisibleWorkspaces"),
                listing,
                core_pb2.ListWorkspaceResponse(),
                lambda channel: partial(
                    core_pb2_grpc.CoreStub(channel).ListVisibleWorkspaces,
                    listing,
                    metadata=metadata,
                ),
            ),
        ]
        for title, path, method, request, response, stub_call in reads:
            rest = await measure_rest(
                "127.0.0.1",
                ports["rest"],
                path,
                headers=headers,
                requests=requests,
                concurrency=concurrency,
            )
            direct = await measure_grpc(
                "127.0.0.1",
                ports["grpc"],
                method,
                request,
                response,
                metadata=metadata,
                requests=requests,
                concurrency=concurrency,
            )
            # the channel is open only for its own figure: its threads would count as the
            # other clients' CPU time
            async with grpc.aio.insecure_channel(f"127.0.0.1:{ports['grpc']}") as channel:
                call = stub_call(channel)
                aio = await measure_grpc_aio(call, requests=requests, concurrency=concurrency)
            print(f"{title}, {requests} requests, concurrency {concurrency}")
            print(report(rest, direct, reference=aio))
    finally:
        for child in children:
            child.terminate()
        for child in children:
            await child.wait()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.apiserver")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.concurrency))
