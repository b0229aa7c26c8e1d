"""The gRPC side of a REST call: interceptors, metadata in and out, context behaviour."""

from __future__ import annotations

from typing import Any

import httpx

from tests.transcoding.service import Calls


def metadata_of(reply: httpx.Response) -> dict[str, str]:
    entries: list[dict[str, Any]] = reply.json()["metadata"]
    return {entry["key"]: entry["value"] for entry in entries}


async def test_interceptor_rejects_a_call_without_token_with_401(
    anonymous: httpx.AsyncClient,
) -> None:
    reply = await anonymous.get("/v1/whoami")

    assert reply.status_code == 401
    assert reply.json()["code"] == 16
    assert reply.headers["www-authenticate"] == 'Bearer realm="workbench"'


async def test_rejected_call_never_reaches_the_handler(
    anonymous: httpx.AsyncClient, calls: Calls
) -> None:
    await anonymous.get("/v1/echo/e1")

    assert calls.handled == []


async def test_interceptor_rejection_applies_to_streaming_methods(
    anonymous: httpx.AsyncClient,
) -> None:
    reply = await anonymous.get("/v1/shelves/s1/books:watch", params={"count": 2})

    assert reply.status_code == 401


async def test_interceptors_see_the_grpc_method_name(
    client: httpx.AsyncClient, calls: Calls
) -> None:
    await client.get("/v1/echo/e1")

    assert calls.intercepted == ["/workbench.tests.transcoding.v1.Library/Echo"]


async def test_interceptor_wrapping_the_handler_maps_domain_errors(
    client: httpx.AsyncClient,
) -> None:
    reply = await client.get("/v1/shelves/s1/books/missing")

    assert reply.status_code == 404
    assert reply.json()["message"] == "book shelves/s1/books/missing not found"


async def test_authorization_header_reaches_the_handler_as_metadata(
    client: httpx.AsyncClient,
) -> None:
    assert metadata_of(await client.get("/v1/whoami"))["authorization"] == "Bearer good-token"


async def test_grpc_metadata_header_becomes_metadata_without_prefix(
    client: httpx.AsyncClient,
) -> None:
    reply = await client.get("/v1/whoami", headers={"Grpc-Metadata-Tenant": "ws-1"})

    assert metadata_of(reply)["tenant"] == "ws-1"


async def test_request_id_header_becomes_metadata(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/whoami", headers={"X-Request-Id": "r-42"})

    assert metadata_of(reply)["x-request-id"] == "r-42"


async def test_forwarded_for_gets_the_client_address_appended(
    client: httpx.AsyncClient,
) -> None:
    reply = await client.get("/v1/whoami", headers={"X-Forwarded-For": "10.0.0.1"})

    assert metadata_of(reply)["x-forwarded-for"] == "10.0.0.1, 127.0.0.1"


async def test_other_headers_do_not_become_metadata(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/whoami", headers={"X-Secret": "s"})

    assert "x-secret" not in metadata_of(reply)


async def test_peer_is_the_client_address(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/whoami")).json()["peer"].startswith("ipv4:127.0.0.1:")


async def test_response_metadata_becomes_grpc_metadata_headers(
    client: httpx.AsyncClient,
) -> None:
    reply = await client.post("/v1/created", json={})

    assert reply.headers["grpc-metadata-location"] == "here"


async def test_x_http_code_metadata_overrides_the_success_status(
    client: httpx.AsyncClient,
) -> None:
    reply = await client.post("/v1/created", json={})

    assert reply.status_code == 201
    assert "grpc-metadata-x-http-code" not in reply.headers


async def test_sync_handler_is_served(client: httpx.AsyncClient, calls: Calls) -> None:
    reply = await client.get("/v1/sync/ping")

    assert reply.status_code == 200
    assert calls.handled == ["SyncPing"]


async def test_grpc_timeout_expiry_is_504_deadline_exceeded(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/slow", json={"sleepSeconds": 2}, headers={"Grpc-Timeout": "50m"})

    assert reply.status_code == 504
    assert reply.json()["code"] == 4
