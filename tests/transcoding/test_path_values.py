"""Path values: decoding, and the values the project refuses with 400."""

from __future__ import annotations

import httpx

from tests.transcoding.conftest import raw_request, status_of
from tests.transcoding.service import Calls


async def test_percent_encoded_value_reaches_the_handler_decoded(
    client: httpx.AsyncClient,
) -> None:
    reply = await client.get("/v1/echo/hello%20world")

    assert reply.json()["request"]["id"] == "hello world"


async def test_encoded_slash_in_a_single_segment_value_is_400(server_port: int) -> None:
    reply = await raw_request(server_port, "GET /v1/echo/a%2Fb HTTP/1.1")

    assert status_of(reply) == 400
    assert b"must not contain '/'" in reply


async def test_multi_segment_value_keeps_an_encoded_slash(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/files/a%2Fb/c")

    assert reply.json()["path"] == "a%2Fb/c"


async def test_dot_dot_value_is_400(server_port: int) -> None:
    reply = await raw_request(server_port, "GET /v1/echo/.. HTTP/1.1")

    assert status_of(reply) == 400


async def test_dot_dot_segment_inside_a_multi_segment_value_is_400(server_port: int) -> None:
    reply = await raw_request(server_port, "GET /v1/files/a/../etc/passwd HTTP/1.1")

    assert status_of(reply) == 400


async def test_control_character_is_400(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/echo/a%01b")

    assert reply.status_code == 400


async def test_overlong_value_is_400(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/echo/" + "x" * 65)

    assert reply.status_code == 400
    assert "longer" in reply.json()["message"]


async def test_empty_value_is_400_missing_parameter(server_port: int) -> None:
    reply = await raw_request(server_port, "GET /v1/shelves//books HTTP/1.1")

    assert status_of(reply) == 400
    assert b"missing required path parameter 'shelf_id'" in reply


async def test_invalid_utf8_is_400(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/echo/%ff")

    assert reply.status_code == 400


async def test_refused_path_value_never_reaches_the_handler(
    client: httpx.AsyncClient, calls: Calls
) -> None:
    await client.get("/v1/echo/a%01b")

    assert calls.handled == []
