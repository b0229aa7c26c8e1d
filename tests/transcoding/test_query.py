"""Query parameters: the fields a binding leaves to the query, as runtime/query.go sets them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.transcoding.service import Calls


async def echo(client: httpx.AsyncClient, params: Any) -> httpx.Response:
    return await client.get("/v1/echo/e1", params=params)


async def echoed(client: httpx.AsyncClient, params: Any) -> dict[str, Any]:
    reply = await echo(client, params)
    assert reply.status_code == 200, reply.text
    request: dict[str, Any] = reply.json()["request"]
    return request


async def test_json_name_sets_the_field(client: httpx.AsyncClient) -> None:
    assert (await echoed(client, {"pageSize": "7"}))["pageSize"] == 7


async def test_proto_name_sets_the_field(client: httpx.AsyncClient) -> None:
    assert (await echoed(client, {"page_size": "7"}))["pageSize"] == 7


async def test_dotted_name_sets_a_nested_field(client: httpx.AsyncClient) -> None:
    request = await echoed(client, {"filter.authorName": "frank", "filter.inner.depth": "3"})

    assert request["filter"]["authorName"] == "frank"
    assert request["filter"]["inner"] == {"depth": 3}


async def test_repeated_parameter_fills_a_repeated_field(client: httpx.AsyncClient) -> None:
    request = await echoed(client, [("tags", "a"), ("tags", "b"), ("numbers", "9")])

    assert request["tags"] == ["a", "b"]
    assert request["numbers"] == ["9"]


async def test_enum_is_accepted_by_name(client: httpx.AsyncClient) -> None:
    assert (await echoed(client, {"shelf": "SHELF_SCIENCE"}))["shelf"] == "SHELF_SCIENCE"


async def test_enum_is_accepted_by_number(client: httpx.AsyncClient) -> None:
    assert (await echoed(client, {"shelf": "1"}))["shelf"] == "SHELF_FICTION"


async def test_unknown_enum_name_is_400(client: httpx.AsyncClient) -> None:
    reply = await echo(client, {"shelf": "SHELF_COOKING"})

    assert reply.status_code == 400
    assert "shelf" in reply.json()["message"]


async def test_int64_parameter_comes_back_as_a_decimal_string(
    client: httpx.AsyncClient,
) -> None:
    assert (await echoed(client, {"big": "9007199254740993"}))["big"] == "9007199254740993"


async def test_int64_out_of_range_is_400(client: httpx.AsyncClient) -> None:
    assert (await echo(client, {"big": str(2**63)})).status_code == 400


async def test_bool_takes_go_parsebool_spellings(client: httpx.AsyncClient) -> None:
    assert (await echoed(client, {"flag": "T"}))["flag"] is True


async def test_bad_bool_is_400(client: httpx.AsyncClient) -> None:
    assert (await echo(client, {"flag": "yes"})).status_code == 400


async def test_timestamp_parameter_is_rfc3339(client: httpx.AsyncClient) -> None:
    request = await echoed(client, {"since": "2024-05-01T10:00:00.5+02:00"})

    assert request["since"] == "2024-05-01T08:00:00.500Z"


async def test_duration_accepts_go_syntax(client: httpx.AsyncClient) -> None:
    assert (await echoed(client, {"within": "1m30s"}))["within"] == "90s"


async def test_wrapper_type_takes_its_plain_value(client: httpx.AsyncClient) -> None:
    assert (await echoed(client, {"limit": "5"}))["limit"] == 5


async def test_map_entry_uses_bracket_syntax(client: httpx.AsyncClient) -> None:
    assert (await echoed(client, {"labels[team]": "a"}))["labels"] == {"team": "a"}


async def test_bytes_parameter_is_base64(client: httpx.AsyncClient) -> None:
    assert (await echoed(client, {"blob": "aGk="}))["blob"] == "aGk="


async def test_unknown_parameter_is_ignored(client: httpx.AsyncClient) -> None:
    reply = await echo(client, {"utm_source": "mail", "pageSize": "2"})

    assert reply.status_code == 200


async def test_bad_value_for_a_known_field_is_400_naming_it(client: httpx.AsyncClient) -> None:
    reply = await echo(client, {"pageSize": "ten"})

    assert reply.status_code == 400
    assert reply.json()["code"] == 3
    assert "pageSize" in reply.json()["message"]


async def test_second_value_for_a_singular_field_is_400(client: httpx.AsyncClient) -> None:
    assert (await echo(client, [("pageSize", "1"), ("pageSize", "2")])).status_code == 400


async def test_second_member_of_a_oneof_is_400(client: httpx.AsyncClient) -> None:
    assert (await echo(client, {"first": "a", "second": "b"})).status_code == 400


async def test_parameter_for_a_path_bound_field_is_ignored(client: httpx.AsyncClient) -> None:
    assert (await echoed(client, {"id": "other"}))["id"] == "e1"


async def test_query_is_not_read_when_the_body_is_everything(
    client: httpx.AsyncClient,
) -> None:
    reply = await client.post("/v1/echo/e1:body", params={"pageSize": "9"}, json={})

    assert reply.json()["request"]["pageSize"] == 0


async def test_bad_query_never_reaches_the_handler(client: httpx.AsyncClient, calls: Calls) -> None:
    await echo(client, {"pageSize": "ten"})

    assert calls.handled == []
