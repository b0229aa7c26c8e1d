"""The background HTTP server every service runs its health, metrics and REST on."""

from __future__ import annotations

import asyncio
import socket

import pytest
from fastapi import FastAPI, Request

from libs.common.http_server import BackgroundHttp


async def test_a_port_in_use_is_an_error_of_that_server_not_the_end_of_the_process() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = BackgroundHttp(FastAPI(), "127.0.0.1", taken.getsockname()[1])

        with pytest.raises(OSError, match=r"could not serve HTTP on 127\.0\.0\.1"):
            await server.start()


async def test_port_zero_serves_on_a_free_port_and_reports_it() -> None:
    server = BackgroundHttp(FastAPI(), "127.0.0.1", 0)

    port = await server.start()
    try:
        with socket.create_connection(("127.0.0.1", port), 2):
            pass
    finally:
        await server.stop()

    assert port == server.port > 0


async def test_stop_ends_a_request_whose_body_never_arrives() -> None:
    app = FastAPI()

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    server = BackgroundHttp(app, "127.0.0.1", 0, shutdown_grace=1)
    port = await server.start()
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial")
    await writer.drain()
    await asyncio.sleep(0.2)  # the request is in the app, waiting for the rest of its body

    try:
        async with asyncio.timeout(10):
            await server.stop()
    finally:
        writer.close()
