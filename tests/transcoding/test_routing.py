"""Which binding a request reaches, and grpc-gateway's answers when none does."""

from __future__ import annotations

import httpx
import pytest

from libs.transcoding._router import Router
from libs.transcoding._template import parse_template
from tests.transcoding.conftest import raw_request, status_of
from tests.transcoding.service import Calls


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


# grpc-gateway v2's defaults for a POST of an HTML form (Content-Type exactly
# application/x-www-form-urlencoded): X-HTTP-Method-Override, and the POST-to-GET fallback.

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def form_post(
    client: httpx.AsyncClient, path: str, fields: bytes = b"", override: str = ""
) -> httpx.Response:
    headers = {**FORM, "X-HTTP-Method-Override": override} if override else FORM
    return await client.post(path, content=fields, headers=headers)


async def test_method_override_routes_a_form_post_as_that_method(
    client: httpx.AsyncClient, calls: Calls
) -> None:
    reply = await form_post(client, "/v1/shelves/s1/books/b1", override="delete")

    assert reply.status_code == 200
    assert calls.handled == ["DeleteBook"]


async def test_form_fields_of_an_override_come_before_the_query_parameters(
    client: httpx.AsyncClient,
) -> None:
    fields = b"pageSize=3&tags=from-form"
    reply = await form_post(client, "/v1/echo/e1?tags=from-query", fields, override="GET")

    assert reply.status_code == 200
    assert reply.json()["method"] == "Echo"
    assert reply.json()["request"]["pageSize"] == 3
    assert reply.json()["request"]["tags"] == ["from-form", "from-query"]


async def test_an_overriding_patch_takes_its_form_fields_as_query_parameters(
    client: httpx.AsyncClient,
) -> None:
    reply = await form_post(client, "/v1/shelves/s1/books/b1", b"updateMask=title", "PATCH")

    assert reply.status_code == 200
    assert reply.json()["name"] == "shelves/s1/books/b1"
    assert reply.json()["labels"]["updateMask"] == "title"


async def test_a_form_post_to_a_get_only_path_falls_back_to_get(
    client: httpx.AsyncClient, calls: Calls
) -> None:
    reply = await form_post(client, "/v1/echo/e1", b"pageSize=7")

    assert reply.status_code == 200
    assert calls.handled == ["Echo"]
    assert reply.json()["request"]["pageSize"] == 7


@pytest.mark.parametrize(
    ("path", "fields", "override", "status"),
    [
        ("/v1/tags", b"tags=a", "", 501),  # PUT only: the fallback is to GET alone
        ("/v1/echo/e1", b"", "DELETE", 501),  # no DELETE template for the path
        ("/v1/echo/e1:body", b"pageSize=3", "", 400),  # a POST binding: its body is JSON
    ],
    ids=["fallback-only-to-get", "override-to-a-missing-verb", "post-binding-reads-json"],
)
async def test_form_posts_that_reach_no_handler(
    client: httpx.AsyncClient, calls: Calls, path: str, fields: bytes, override: str, status: int
) -> None:
    reply = await form_post(client, path, fields, override)

    assert reply.status_code == status
    assert calls.handled == []


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/x-www-form-urlencoded; charset=utf-8"],
)
async def test_override_and_fallback_need_exactly_the_form_content_type(
    client: httpx.AsyncClient, calls: Calls, content_type: str
) -> None:
    headers = {"Content-Type": content_type, "X-HTTP-Method-Override": "DELETE"}
    overridden = await client.post("/v1/shelves/s1/books/b1", content=b"", headers=headers)
    fallback = await client.post("/v1/echo/e1", content=b"", headers={"Content-Type": content_type})

    assert overridden.status_code == fallback.status_code == 501
    assert calls.handled == []
