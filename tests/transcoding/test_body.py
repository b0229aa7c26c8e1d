"""Request bodies: `body: "*"`, `body: "field"`, no body, and everything refused with 400."""

from __future__ import annotations

import httpx
import pytest

from tests.transcoding.conftest import MAX_BODY, raw_request, status_of
from tests.transcoding.service import Calls


async def test_star_body_accepts_json_names(client: httpx.AsyncClient) -> None:
    reply = await client.post(
        "/v1/echo/e1:body", json={"pageSize": 3, "filter": {"authorName": "x"}}
    )

    assert reply.json()["request"]["pageSize"] == 3
    assert reply.json()["request"]["filter"]["authorName"] == "x"


async def test_star_body_accepts_proto_names(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/echo/e1:body", json={"page_size": 3})

    assert reply.json()["request"]["pageSize"] == 3


async def test_path_value_overrides_the_body(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/echo/e1:body", json={"id": "from-body"})

    assert reply.json()["request"]["id"] == "e1"


async def test_field_body_fills_that_field(client: httpx.AsyncClient) -> None:
    reply = await client.post(
        "/v1/shelves/s1/books", params={"requestId": "r9"}, json={"title": "Dune"}
    )

    assert reply.json()["name"] == "shelves/s1/books/r9"
    assert reply.json()["title"] == "Dune"


async def test_repeated_field_body_takes_a_json_array(client: httpx.AsyncClient) -> None:
    reply = await client.put("/v1/tags", json=["a", "b"])

    assert reply.json() == {"tags": ["a", "b"]}


async def test_nested_path_field_completes_a_field_body(client: httpx.AsyncClient) -> None:
    reply = await client.patch("/v1/shelves/s1/books/b1", json={"title": "New"})

    assert reply.json()["name"] == "shelves/s1/books/b1"
    assert reply.json()["title"] == "New"


async def test_empty_body_means_no_fields_set(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/echo/e1:body", content=b"")

    assert reply.status_code == 200


async def test_body_of_a_method_without_body_is_ignored(client: httpx.AsyncClient) -> None:
    reply = await client.request("GET", "/v1/echo/e1", content=b"{not json")

    assert reply.status_code == 200


async def test_malformed_json_is_400_invalid_argument(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/echo/e1:body", content=b'{"pageSize": ')

    assert reply.status_code == 400
    assert reply.json()["code"] == 3
    assert reply.json()["details"] == []


async def test_wrong_type_is_400_naming_the_field(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/echo/e1:body", json={"pageSize": "many"})

    assert reply.status_code == 400
    assert "pageSize" in reply.json()["message"] or "page_size" in reply.json()["message"]


async def test_unknown_field_is_400_naming_it(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/echo/e1:body", json={"pageSize": 1, "colour": "red"})

    assert reply.status_code == 400
    assert reply.json()["code"] == 3
    assert "colour" in reply.json()["message"]


async def test_unknown_field_inside_a_field_body_is_400(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/shelves/s1/books", json={"title": "x", "isbn": "1"})

    assert reply.status_code == 400
    assert "isbn" in reply.json()["message"]


async def test_unknown_enum_name_in_body_is_400(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/echo/e1:body", json={"shelf": "SHELF_COOKING"})

    assert reply.status_code == 400


async def test_non_object_star_body_is_400(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/echo/e1:body", json=[1, 2])

    assert reply.status_code == 400


async def test_body_over_the_limit_is_400(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/echo/e1:body", content=b" " * (MAX_BODY + 1))

    assert reply.status_code == 400
    assert reply.json()["code"] == 3


async def test_chunked_body_over_the_limit_is_400(server_port: int) -> None:
    chunk = b" " * 4096
    body = b"".join(b"1000\r\n" + chunk + b"\r\n" for _ in range(MAX_BODY // 4096 + 2))
    reply = await raw_request(
        server_port,
        "POST /v1/echo/e1:body HTTP/1.1",
        body + b"0\r\n\r\n",
        Transfer_Encoding="chunked",
        Content_Type="application/json",
    )

    assert status_of(reply) == 400


async def test_bad_body_never_reaches_the_handler(client: httpx.AsyncClient, calls: Calls) -> None:
    await client.post("/v1/echo/e1:body", json={"colour": "red"})

    assert calls.handled == []


async def test_patch_fills_an_empty_update_mask_from_the_body(
    client: httpx.AsyncClient,
) -> None:
    reply = await client.patch(
        "/v1/shelves/s1/books/b1", json={"title": "New", "author": {"displayName": "F"}}
    )

    assert reply.json()["labels"]["updateMask"] == "title,author.display_name"


async def test_patch_keeps_an_update_mask_given_in_the_query(client: httpx.AsyncClient) -> None:
    reply = await client.patch(
        "/v1/shelves/s1/books/b1", params={"updateMask": "rating"}, json={"title": "New"}
    )

    assert reply.json()["labels"]["updateMask"] == "rating"


# Go's protojson refuses a field given twice in one object; the json module would keep the last.


async def test_a_key_given_twice_is_400_naming_it(client: httpx.AsyncClient, calls: Calls) -> None:
    reply = await client.post(
        "/v1/echo/e1:body",
        content=b'{"pageSize": 1, "pageSize": 2}',
        headers={"Content-Type": "application/json"},
    )

    assert reply.status_code == 400
    assert reply.json()["code"] == 3
    assert "'pageSize' is given more than once" in reply.json()["message"]
    assert calls.handled == []


async def test_a_key_given_twice_in_a_nested_message_is_400(client: httpx.AsyncClient) -> None:
    reply = await client.post(
        "/v1/echo/e1:body", content=b'{"filter": {"authorName": "a", "authorName": "b"}}'
    )

    assert reply.status_code == 400
    assert "'authorName'" in reply.json()["message"]


async def test_a_map_key_given_twice_is_400(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/echo/e1:body", content=b'{"labels": {"k": "1", "k": "2"}}')

    assert reply.status_code == 400
    assert "'k' is given more than once" in reply.json()["message"]


async def test_a_struct_key_given_twice_is_400(client: httpx.AsyncClient) -> None:
    reply = await client.patch(
        "/v1/shelves/s1/books/b1", content=b'{"extra": {"x": 1, "y": 2, "x": 3}}'
    )

    assert reply.status_code == 400
    assert "'x' is given more than once" in reply.json()["message"]


async def test_one_field_under_both_its_names_is_400(
    client: httpx.AsyncClient, calls: Calls
) -> None:
    reply = await client.post("/v1/echo/e1:body", json={"pageSize": 1, "page_size": 2})

    assert reply.status_code == 400
    assert reply.json()["message"] == (
        "invalid request body: field 'page_size' is given more than once "
        "(as 'pageSize' and 'page_size')"
    )
    assert calls.handled == []


@pytest.mark.parametrize(
    ("verb", "path", "body", "field"),
    [
        (
            "PATCH",
            "/v1/shelves/s1/books/b1",
            b'{"author": {"display_name": "a", "displayName": "b"}}',
            "display_name",
        ),
        ("POST", "/v1/echo/e1:body", b'{"pageSize": 1, "page\\u005fsize": 2}', "page_size"),
    ],
    ids=["nested", "json-escape"],
)
async def test_both_names_of_a_field_are_refused_wherever_they_are(
    client: httpx.AsyncClient, verb: str, path: str, body: bytes, field: str
) -> None:
    reply = await client.request(verb, path, content=body)

    assert reply.status_code == 400
    assert f"field {field!r} is given more than once" in reply.json()["message"]


async def test_the_same_key_in_sibling_objects_is_not_a_duplicate(
    client: httpx.AsyncClient,
) -> None:
    reply = await client.patch(
        "/v1/shelves/s1/books/b1",
        json={"labels": {"title": "x"}, "title": "T", "author": {"displayName": "F"}},
    )

    assert reply.status_code == 200
    assert reply.json()["title"] == "T"
