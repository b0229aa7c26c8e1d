"""An unexpected exception in a handler, through apiserver's own interceptor chain.

No handler of the real API is known to raise (each would be a bug, fixed where found), so the
test puts a Management servicer whose ListFeatureGate raises behind the very interceptor
objects the apiserver uses (observability, errors, authentication and the rule table), served
over gRPC and through the REST gateway on real sockets. The caller must get INTERNAL with the
call's request id and nothing of the exception; the traceback goes to the log only.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from amamba.core.v1alpha1 import management_pb2, management_pb2_grpc

from libs.common.http_server import BackgroundHttp
from libs.rpc.server import create_server
from libs.transcoding import Gateway, handlers_from_servicer
from tests.apiserver.conftest import Stack

DETAIL = "db password is hunter2"  # what the exception says, which no caller may see


class Broken(management_pb2_grpc.ManagementServicer):
    async def ListFeatureGate(self, request: Any, context: Any) -> Any:
        raise RuntimeError(DETAIL)


@pytest.fixture
async def broken(stack: Stack) -> AsyncIterator[tuple[str, str]]:
    """gRPC target and REST base URL of the broken servicer behind apiserver's interceptors."""
    servicer = Broken()
    add = management_pb2_grpc.add_ManagementServicer_to_server
    server = create_server(stack.api.interceptors)
    add(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    gateway = Gateway(handlers_from_servicer(add, servicer), interceptors=stack.api.interceptors)
    http = BackgroundHttp(gateway.app, "127.0.0.1", 0)
    http_port = await http.start()
    yield f"127.0.0.1:{port}", f"http://127.0.0.1:{http_port}"
    await http.stop()
    await server.stop(grace=None)


def the_traceback(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    (record,) = [r for r in caplog.records if r.exc_info and r.name == "libs.rpc.interceptors"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == DETAIL
    return record


async def test_over_grpc_the_caller_sees_internal_with_the_request_id_only(
    stack: Stack, broken: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    metadata = [("authorization", f"Bearer {stack.token('bob')}"), ("x-request-id", "req-42")]

    async with grpc.aio.insecure_channel(broken[0]) as channel:
        stub = management_pb2_grpc.ManagementStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ListFeatureGate(management_pb2.ListFeatureGateRequest(), metadata=metadata)

    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert caught.value.details() == "internal error (request id req-42)"
    the_traceback(caplog)
    lines = [r.getMessage() for r in caplog.records if "ListFeatureGate" in r.getMessage()]
    assert any("INTERNAL" in line for line in lines)
    assert all(DETAIL not in line for line in lines)


async def test_over_rest_the_caller_sees_500_with_the_request_id_only(
    stack: Stack, broken: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    import httpx

    caplog.set_level(logging.INFO)

    async with httpx.AsyncClient(base_url=broken[1]) as http:
        answer = await http.get(
            "/apis/amamba.io/v1alpha1/management/feature-gates",
            headers={**stack.auth("bob"), "X-Request-Id": "req-43"},
        )

    assert answer.status_code == 500
    assert answer.json() == {
        "code": 13,
        "message": "internal error (request id req-43)",
        "details": [],
    }
    assert DETAIL not in answer.text and "RuntimeError" not in answer.text
    the_traceback(caplog)


async def test_a_refused_caller_never_reaches_the_broken_handler(
    broken: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    async with grpc.aio.insecure_channel(broken[0]) as channel:
        stub = management_pb2_grpc.ManagementStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ListFeatureGate(management_pb2.ListFeatureGateRequest())

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert not [r for r in caplog.records if r.exc_info]
