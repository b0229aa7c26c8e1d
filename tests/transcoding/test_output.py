"""Response bodies: proto3 JSON with this project's output conventions, and response_body."""

from __future__ import annotations

import httpx


async def test_names_are_lower_camel_case(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/shelves/s1/books/b1")

    assert "pageCount" in reply.json()
    assert "page_count" not in reply.json()


async def test_fields_at_default_value_are_emitted(client: httpx.AsyncClient) -> None:
    book = (await client.get("/v1/shelves/s1/books/b1")).json()

    assert book["available"] is False
    assert book["tags"] == []
    assert book["labels"] == {}


async def test_int64_is_a_decimal_string(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/shelves/s1/books/b1")).json()["pageCount"] == "412"


async def test_enum_is_its_name(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/shelves/s1/books/b1")).json()["shelf"] == "SHELF_FICTION"


async def test_empty_message_is_an_empty_object(client: httpx.AsyncClient) -> None:
    reply = await client.delete("/v1/shelves/s1/books/b1")

    assert reply.status_code == 200
    assert reply.json() == {}


async def test_response_body_selects_a_scalar_field(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/shelves/s1/books/b1/title")).json() == "Dune"


async def test_response_body_selects_a_repeated_field(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/shelves/s1/books/b1/tags")).json() == ["a", "b"]


async def test_content_type_is_json(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/shelves/s1/books/b1")

    assert reply.headers["content-type"] == "application/json"
