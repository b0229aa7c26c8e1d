"""gRPC statuses as HTTP answers: the status table, the body, rich details, headers."""

from __future__ import annotations

import grpc
import httpx
import pytest

from libs.transcoding import HTTP_STATUS_FROM_CODE, http_status_from_code

EXPECTED_HTTP = {
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}


def test_every_grpc_status_code_has_an_http_status() -> None:
    assert set(HTTP_STATUS_FROM_CODE) == set(grpc.StatusCode)


def test_ok_maps_to_200() -> None:
    assert http_status_from_code(grpc.StatusCode.OK) == 200


@pytest.mark.parametrize("code", list(EXPECTED_HTTP), ids=lambda code: code.name)
async def test_aborted_call_answers_grpc_gateway_http_status(
    client: httpx.AsyncClient, code: grpc.StatusCode
) -> None:
    reply = await client.post("/v1/fail", json={"code": code.value[0], "message": "why"})

    assert reply.status_code == EXPECTED_HTTP[code]
    assert reply.json() == {"code": code.value[0], "message": "why", "details": []}


async def test_code_set_without_abort_is_still_an_error(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/fail", json={"code": 6, "message": "dup", "how": "set_code"})

    assert reply.status_code == 409
    assert reply.json()["message"] == "dup"


async def test_unexpected_exception_is_500_unknown(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/fail", json={"code": 13, "message": "boom", "how": "raise"})

    assert reply.status_code == 500
    assert reply.json()["code"] == 2


async def test_rich_details_from_trailing_metadata_reach_the_body(
    client: httpx.AsyncClient,
) -> None:
    reply = await client.post(
        "/v1/fail", json={"code": 8, "message": "slow down", "withDetails": True}
    )

    assert reply.status_code == 429
    assert reply.json()["details"] == [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "QUOTA",
            "domain": "workbench.io",
        }
    ]


async def test_unimplemented_servicer_method_is_501(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/later")

    assert reply.status_code == 501
    assert reply.json()["code"] == 12


async def test_unauthenticated_answer_carries_www_authenticate(
    client: httpx.AsyncClient,
) -> None:
    reply = await client.post("/v1/fail", json={"code": 16, "message": 'Bearer realm="x"'})

    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == 'Bearer realm="x"'


async def test_error_body_is_json(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/fail", json={"code": 5, "message": "gone"})

    assert reply.headers["content-type"] == "application/json"
