"""Which binding a request reaches, and grpc-gateway's answers when none does."""

from __future__ import annotations

import httpx

from libs.transcoding._router import Router
from libs.transcoding._template import parse_template
from tests.transcoding.conftest import raw_request, status_of


async def test_unknown_path_is_404_with_not_found_status_body(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/nowhere")

    assert reply.status_code == 404
    assert reply.json() == {"code": 5, "message": "Not Found", "details": []}


async def test_known_path_with_wrong_verb_is_501_unimplemented(client: httpx.AsyncClient) -> None:
    reply = await client.put("/v1/shelves/1/books/2")

    assert reply.status_code == 501
    assert reply.json() == {"code": 12, "message": "Method Not Allowed", "details": []}


async def test_multi_segment_variable_captures_its_slashes(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/shelves/s1/books/b2")

    assert reply.status_code == 200
    assert reply.json()["name"] == "shelves/s1/books/b2"


async def test_double_star_variable_captures_the_rest_of_the_path(
    client: httpx.AsyncClient,
) -> None:
    reply = await client.get("/v1/files/a/b/c.txt")

    assert reply.json() == {"path": "a/b/c.txt"}


async def test_custom_verb_routes_to_its_own_method(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/shelves/s1/books/b2:archive", json={})

    assert reply.status_code == 200
    assert reply.json()["title"] == "archived"
    assert reply.json()["name"] == "shelves/s1/books/b2"


async def test_additional_binding_serves_the_same_method(client: httpx.AsyncClient) -> None:
    primary = await client.get("/v1/shelves/s1/books")
    additional = await client.get("/v1/books")

    assert primary.json()["total"] == additional.json()["total"] == "1"


async def test_nested_path_field_sets_the_sub_message(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/shelves/fiction/authors/herbert")

    assert reply.json() == {"shelf": "fiction", "name": "herbert"}


async def test_trailing_slash_is_a_different_path(server_port: int) -> None:
    reply = await raw_request(server_port, "GET /v1/books/ HTTP/1.1")

    assert status_of(reply) == 404


def test_router_prefers_the_template_registered_last() -> None:
    router: Router[str] = Router()
    router.add("GET", parse_template("/v1/things/special"), "literal")
    router.add("GET", parse_template("/v1/things/{id}"), "wildcard")

    match = router.match("GET", ["v1", "things", "special"])

    assert match is not None and match.route == "wildcard"


def test_router_matches_a_verb_only_as_a_suffix_of_the_last_segment() -> None:
    router: Router[str] = Router()
    router.add("POST", parse_template("/v1/{name=runs/*}:cancel"), "cancel")

    assert router.match("POST", ["v1", "runs", "7:cancel"]) is not None
    assert router.match("POST", ["v1", "runs", "7"]) is None
    assert router.match("POST", ["v1", "runs", ":cancel"]) is None
