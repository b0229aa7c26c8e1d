"""Fixtures: the compiled Library protos, the gateway in front of the test servicer, and a
uvicorn server on a free loopback port driven by httpx over a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import uvicorn

from libs.transcoding import Gateway, handlers_from_servicer
from sandbox.ports import free_port
from tests.transcoding.protoc import compile_protos
from tests.transcoding.service import (
    TOKEN,
    AuthInterceptor,
    Calls,
    ErrorMappingInterceptor,
    RecordingInterceptor,
    build_servicer,
)

MAX_BODY = 64 * 1024


@pytest.fixture(scope="session")
def protos(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, ModuleType]:
    out: Path = tmp_path_factory.mktemp("transcoding_protos")
    return compile_protos(out, "library")


@pytest.fixture(scope="session")
def pb(protos: tuple[ModuleType, ModuleType]) -> ModuleType:
    return protos[0]


@pytest.fixture(scope="session")
def calls_log() -> Calls:
    return Calls()


@pytest.fixture
def calls(calls_log: Calls) -> Iterator[Calls]:
    calls_log.clear()
    yield calls_log


@pytest.fixture(scope="session")
def generic_handlers(protos: tuple[ModuleType, ModuleType], calls_log: Calls) -> list[Any]:
    pb, pb_grpc = protos
    servicer = build_servicer(pb, pb_grpc, calls_log)
    return handlers_from_servicer(pb_grpc.add_LibraryServicer_to_server, servicer)


@pytest.fixture(scope="session")
def interceptors(calls_log: Calls) -> list[Any]:
    return [RecordingInterceptor(calls_log), AuthInterceptor(), ErrorMappingInterceptor()]


@pytest.fixture(scope="session")
def gateway(generic_handlers: list[Any], interceptors: list[Any]) -> Gateway:
    return Gateway(
        generic_handlers,
        interceptors=interceptors,
        max_body_bytes=MAX_BODY,
        max_path_value_length=64,
    )


@pytest.fixture(scope="session")
async def server_port(gateway: Gateway) -> AsyncIterator[int]:
    port = free_port()
    config = uvicorn.Config(
        gateway.app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        proxy_headers=False,  # keep the socket peer as the client address
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn offers no "started" event to wait on
        if server.started:
            break
        await asyncio.sleep(0.01)
    yield port
    server.should_exit = True
    await task


@pytest.fixture(scope="session")
async def anonymous(server_port: int) -> AsyncIterator[httpx.AsyncClient]:
    """A client without credentials."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server_port}") as client:
        yield client


@pytest.fixture(scope="session")
async def client(server_port: int) -> AsyncIterator[httpx.AsyncClient]:
    """A client sending the token the auth interceptor accepts."""
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{server_port}", headers={"Authorization": TOKEN}
    ) as client:
        yield client


async def raw_request(port: int, request_line: str, body: bytes = b"", **headers: str) -> bytes:
    """Send one exact HTTP/1.1 request (no client-side path normalisation); the raw reply."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [request_line, "Host: test", f"Authorization: {TOKEN}", "Connection: close"]
    lines += [f"{key.replace('_', '-')}: {value}" for key, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()
    reply = await reader.read()
    writer.close()
    return reply


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])
