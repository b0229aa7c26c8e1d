"""The benchmark's minimal HTTP/2 gRPC client against a real grpc.aio server.

The transcoding bench times the gRPC side with `bench.transcoding.grpc_client`, so its
answers are checked here against the Library test service: real messages over one kept-alive
connection, bodies larger than HTTP/2's initial 64 KiB windows in both directions, and every
non-OK grpc-status raising with the server's code and message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import grpc
import grpc.aio
import pytest

from bench.transcoding.grpc_client import GrpcH2Client, GrpcStatusError
from sandbox.ports import free_port
from tests.transcoding.service import TOKEN

LIBRARY = "/workbench.tests.transcoding.v1.Library"


@pytest.fixture(scope="module")
async def grpc_port(generic_handlers: list[Any], interceptors: list[Any]) -> AsyncIterator[int]:
    port = free_port()
    server = grpc.aio.server(interceptors=interceptors)
    server.add_generic_rpc_handlers(generic_handlers)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    yield port
    await server.stop(None)


async def test_unary_calls_on_one_connection(grpc_port: int, pb: ModuleType) -> None:
    async with GrpcH2Client("127.0.0.1", grpc_port, metadata=[("authorization", TOKEN)]) as c:
        for shelf in range(1, 6):
            name = f"shelves/{shelf}/books/7"
            book = await c.call(f"{LIBRARY}/GetBook", pb.GetBookRequest(name=name), pb.Book())
            assert (book.name, book.title, book.page_count) == (name, "Dune", 412)
        # one connection: client streams 1, 3, 5, 7, 9 were used, the next is 11
        assert c._conn.get_next_available_stream_id() == 11


async def test_metadata_reaches_the_server(grpc_port: int, pb: ModuleType) -> None:
    metadata = [("authorization", TOKEN), ("x-bench", "h2")]
    async with GrpcH2Client("127.0.0.1", grpc_port, metadata=metadata) as client:
        echo = await client.call(f"{LIBRARY}/Echo", pb.EchoRequest(id="e1"), pb.EchoResponse())
    assert echo.request.id == "e1"
    assert echo.method == "Echo"
    assert ("x-bench", "h2") in [(entry.key, entry.value) for entry in echo.metadata]


async def test_bodies_beyond_the_flow_control_windows(grpc_port: int, pb: ModuleType) -> None:
    blob = bytes(range(256)) * 1200  # 300 KiB: several windows each way
    client = GrpcH2Client("127.0.0.1", grpc_port, metadata=[("authorization", TOKEN)])
    async with asyncio.timeout(20), client as c:  # unacknowledged data would stall, not fail
        for _ in range(3):
            request = pb.EchoRequest(id="big", blob=blob)
            echo = await c.call(f"{LIBRARY}/Echo", request, pb.EchoResponse())
            assert echo.request.blob == blob
        small = await c.call(f"{LIBRARY}/Echo", pb.EchoRequest(id="after"), pb.EchoResponse())
    assert small.request.id == "after"


async def test_a_rejected_call_raises_its_status(grpc_port: int, pb: ModuleType) -> None:
    async with GrpcH2Client("127.0.0.1", grpc_port) as client:  # no token
        with pytest.raises(GrpcStatusError) as raised:
            await client.call(f"{LIBRARY}/GetBook", pb.GetBookRequest(name="b"), pb.Book())
    assert raised.value.code == grpc.StatusCode.UNAUTHENTICATED.value[0]
    assert raised.value.message == 'Bearer realm="workbench"'


@pytest.mark.parametrize("how", ["abort", "set_code"])
async def test_a_failed_call_raises_and_the_connection_stays_usable(
    grpc_port: int, pb: ModuleType, how: str
) -> None:
    async with GrpcH2Client("127.0.0.1", grpc_port, metadata=[("authorization", TOKEN)]) as c:
        request = pb.FailRequest(code=5, message="no such shelf: 100%", how=how)
        with pytest.raises(GrpcStatusError) as raised:
            await c.call(f"{LIBRARY}/Fail", request, pb.Book())
        assert (raised.value.code, raised.value.message) == (5, "no such shelf: 100%")
        with pytest.raises(GrpcStatusError) as unknown:
            await c.call(f"{LIBRARY}/NoSuchMethod", pb.GetBookRequest(), pb.Book())
        assert unknown.value.code == grpc.StatusCode.UNIMPLEMENTED.value[0]
        book = await c.call(f"{LIBRARY}/GetBook", pb.GetBookRequest(name="b"), pb.Book())
    assert book.title == "Dune"
