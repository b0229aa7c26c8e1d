"""The gRPC server every service runs: health through shutdown, reflection v1 and v1alpha.

Each test starts a real grpc.aio server on a loopback port and talks to it with a grpc.aio
channel: the health stub, and `tests.reflection` for both versions of reflection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

from libs.rpc.server import (
    REFLECTION_V1,
    HealthServicer,
    add_health_and_reflection,
    create_server,
    stop_serving,
)
from sandbox.ports import free_port
from tests import reflection

SERVICE = "grpc.health.v1.Health"  # a service the server really has, with its descriptor
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass
class Running:
    server: grpc.aio.Server
    health: HealthServicer
    target: str


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    server = create_server([])
    checker = await add_health_and_reflection(server, [SERVICE])
    port = server.add_insecure_port(f"127.0.0.1:{free_port()}")
    await server.start()
    yield Running(server, checker, f"127.0.0.1:{port}")
    await server.stop(None)


async def _check(target: str, service: str) -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        answer = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=5
        )
    return int(answer.status)


async def test_watchers_are_told_not_serving_when_the_server_stops(running: Running) -> None:
    async with grpc.aio.insecure_channel(running.target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        watches = [stub.Watch(health_pb2.HealthCheckRequest(service=s)) for s in ("", SERVICE)]
        before = [(await watch.read()).status for watch in watches]

        stopping = asyncio.create_task(stop_serving(running.server, running.health, grace=2))
        during = [(await asyncio.wait_for(watch.read(), 10)).status for watch in watches]
        await stopping

    assert before == [SERVING, SERVING]
    assert during == [NOT_SERVING, NOT_SERVING]


async def test_checks_during_the_drain_report_every_service_not_serving(
    running: Running,
) -> None:
    before = [await _check(running.target, s) for s in ("", SERVICE)]

    # A drain long enough for both checks to land in it on a busy machine.
    stopping = asyncio.create_task(stop_serving(running.server, running.health, grace=1, drain=3.0))
    await asyncio.sleep(0.2)
    during = [await _check(running.target, s) for s in ("", SERVICE)]
    await stopping
    with pytest.raises(grpc.aio.AioRpcError) as after:
        await _check(running.target, "")

    assert before == [SERVING, SERVING]
    assert during == [NOT_SERVING, NOT_SERVING]
    assert after.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_status_set_after_shutdown_began_is_ignored(running: Running) -> None:
    await running.health.enter_graceful_shutdown()
    await running.health.set(SERVICE, SERVING)

    assert await _check(running.target, SERVICE) == NOT_SERVING


# Reflection v1, as grpcurl and Postman ask first.


async def test_reflection_v1_lists_the_services_and_both_reflection_versions(
    running: Running,
) -> None:
    listed = await reflection.services(running.target, version="v1")

    assert listed == {SERVICE, "grpc.reflection.v1alpha.ServerReflection", REFLECTION_V1}


async def test_reflection_v1_gives_the_file_defining_a_service(running: Running) -> None:
    files = await reflection.file_containing(running.target, SERVICE, version="v1")

    assert files[0].name == health_pb2.DESCRIPTOR.name
    expected = health_pb2.DESCRIPTOR.services_by_name["Health"].methods_by_name
    assert {method.name for method in files[0].service[0].method} == set(expected)


async def test_reflection_v1_describes_itself_under_its_own_package(running: Running) -> None:
    files = await reflection.file_containing(running.target, REFLECTION_V1, version="v1")

    (method,) = files[0].service[0].method
    assert files[0].package == "grpc.reflection.v1"
    assert method.input_type == ".grpc.reflection.v1.ServerReflectionRequest"


async def test_reflection_v1_reports_an_unknown_symbol(running: Running) -> None:
    request = reflection_pb2.ServerReflectionRequest(file_containing_symbol="no.such.Service")
    (answer,) = await reflection.ask(running.target, request, version="v1")

    assert answer.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
