"""Server streaming: newline-delimited `{"result": ...}` chunks, errors as `{"error": ...}`."""

from __future__ import annotations

import json

import httpx


async def lines(reply: httpx.Response) -> list[dict[str, object]]:
    return [json.loads(line) for line in reply.text.splitlines()]


async def test_each_message_is_one_result_line(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/shelves/s1/books:watch", params={"count": 3})

    chunks = await lines(reply)
    assert reply.status_code == 200
    assert [chunk["result"]["name"] for chunk in chunks] == [  # type: ignore[index]
        "shelves/s1/books/0",
        "shelves/s1/books/1",
        "shelves/s1/books/2",
    ]


async def test_stream_is_sent_chunked(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/shelves/s1/books:watch", params={"count": 1})

    assert reply.headers["transfer-encoding"] == "chunked"


async def test_error_mid_stream_ends_it_with_an_error_line(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/shelves/s1/books:watch", params={"count": 5, "failAfter": 2})

    chunks = await lines(reply)
    assert reply.status_code == 200
    assert len(chunks) == 3
    assert chunks[-1] == {"error": {"code": 5, "message": "shelf vanished", "details": []}}


async def test_error_before_the_first_message_sets_the_http_status(
    client: httpx.AsyncClient,
) -> None:
    reply = await client.get("/v1/shelves/s1/books:watch", params={"failFirst": "true"})

    assert reply.status_code == 404
    assert await lines(reply) == [{"error": {"code": 5, "message": "no such shelf", "details": []}}]


async def test_handler_writing_with_context_write_streams(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/shelves/s1/books:watchWritten", params={"count": 2})

    names = [chunk["result"]["name"] for chunk in await lines(reply)]  # type: ignore[index]
    assert names == ["written/0", "written/1"]


async def test_empty_stream_is_an_empty_200(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/shelves/s1/books:watch", params={"count": 0})

    assert reply.status_code == 200
    assert reply.text == ""
