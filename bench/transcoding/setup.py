"""The benchmark setup: the bench proto, its servicer, both servers in a child process."""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import grpc.aio
from google.protobuf import json_format

from bench.transcoding.harness import measure_grpc, measure_grpc_aio, measure_rest, report
from sandbox.ports import free_port

PROTOS = Path(__file__).parent / "protos"
TOKEN = "Bearer bench-token"
# The body `--body` posts: what a console sends to create a small object.
SMALL_BODY = (
    b'{"item": {"name": "item-1", "workspaceId": "ws-1", "revision": "42", '
    b'"labels": ["a", "b"], "createdAt": "2023-11-14T22:13:20Z"}, '
    b'"annotations": {"owner": "team-a"}}'
)


def compile_bench_proto(out_dir: Path) -> tuple[ModuleType, ModuleType]:
    """bench_pb2 and bench_pb2_grpc, compiled with grpc_tools into out_dir and imported."""
    import google.api
    import grpc_tools
    from grpc_tools import protoc

    includes = [
        PROTOS,
        Path(grpc_tools.__file__).parent / "_proto",
        Path(google.api.__path__[0]).parent.parent,
    ]
    args = ["protoc", *(f"-I{d}" for d in includes), f"--python_out={out_dir}"]
    args += [f"--grpc_python_out={out_dir}", str(PROTOS / "bench.proto")]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed for bench.proto")
    sys.path.insert(0, str(out_dir))
    return importlib.import_module("bench_pb2"), importlib.import_module("bench_pb2_grpc")


class TokenInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """A cheap auth check, so both paths pay for one interceptor, as the apiserver does."""

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        for key, value in details.invocation_metadata:
            if key == "authorization" and value == TOKEN:
                return await continuation(details)

        async def reject(request: Any, context: Any) -> Any:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "token required")

        return grpc.unary_unary_rpc_method_handler(reject)


def _servicer(pb: ModuleType, pb_grpc: ModuleType) -> Any:
    from google.protobuf import timestamp_pb2

    created = timestamp_pb2.Timestamp(seconds=1_700_000_000)

    class Items(pb_grpc.ItemsServicer):  # type: ignore[misc,name-defined]
        async def GetItem(self, request: Any, context: Any) -> Any:
            return pb.Item(
                name=request.name,
                workspace_id=request.workspace_id,
                revision=42,
                labels=["a", "b"],
                created_at=created,
            )

        async def CreateItem(self, request: Any, context: Any) -> Any:
            return request.item

    return Items()


def serve(out_dir: str, grpc_port: int, http_port: int, ready: Any) -> None:
    """Child process: the grpc.aio server and the REST gateway over the same servicer."""
    import uvicorn

    from libs.transcoding import Gateway, handlers_from_servicer

    pb, pb_grpc = compile_bench_proto(Path(out_dir))
    interceptors = [TokenInterceptor()]
    handlers = handlers_from_servicer(pb_grpc.add_ItemsServicer_to_server, _servicer(pb, pb_grpc))

    async def main() -> None:
        server = grpc.aio.server(interceptors=interceptors)
        server.add_generic_rpc_handlers(handlers)
        server.add_insecure_port(f"127.0.0.1:{grpc_port}")
        await server.start()

        gateway = Gateway(handlers, interceptors=interceptors)
        config = uvicorn.Config(
            gateway.app,
            host="127.0.0.1",
            port=http_port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http="httptools",
        )
        http = uvicorn.Server(config)
        task = asyncio.create_task(http.serve())
        for _ in range(3000):  # uvicorn offers no "started" event to wait on
            if http.started:
                break
            await asyncio.sleep(0.01)
        ready.set()
        await task

    asyncio.run(main())


async def run(requests: int, concurrency: int, *, body: bool = False) -> str:
    """REST against gRPC for `GetItem`, or, with `body`, for `CreateItem` and its JSON body."""
    out_dir = tempfile.mkdtemp(prefix="bench_transcoding_")
    pb, pb_grpc = compile_bench_proto(Path(out_dir))
    grpc_port, http_port = free_port(), free_port()

    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    child = context.Process(target=serve, args=(out_dir, grpc_port, http_port, ready))
    child.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("the servers did not start")

        if body:
            path, payload, method = "/v1/workspaces/ws-1/items", SMALL_BODY, "CreateItem"
            request = json_format.Parse(payload, pb.CreateItemRequest(workspace_id="ws-1"))
        else:
            path, payload, method = "/v1/workspaces/ws-1/items/item-1", None, "GetItem"
            request = pb.GetItemRequest(workspace_id="ws-1", name="item-1")
        rest = await measure_rest(
            "127.0.0.1",
            http_port,
            path,
            headers={"Authorization": TOKEN},
            body=payload,
            requests=requests,
            concurrency=concurrency,
        )
        metadata = (("authorization", TOKEN),)
        rpc = await measure_grpc(
            "127.0.0.1",
            grpc_port,
            f"/workbench.bench.transcoding.v1.Items/{method}",
            request,
            pb.Item(),
            metadata=metadata,
            requests=requests,
            concurrency=concurrency,
        )
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            call = getattr(pb_grpc.ItemsStub(channel), method)
            aio = await measure_grpc_aio(
                lambda: call(request, metadata=metadata),
                requests=requests,
                concurrency=concurrency,
            )
    finally:
        child.terminate()
        child.join(5)
    return report(rest, rpc, reference=aio)
