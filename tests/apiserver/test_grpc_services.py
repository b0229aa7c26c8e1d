"""What apiserver's gRPC port serves besides the API: server reflection and health checking."""

from __future__ import annotations

import asyncio

import grpc
from amamba.core.v1alpha1 import core_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests import reflection
from tests.apiserver.conftest import Stack

CORE = "amamba.io.api.core.v1alpha1.Core"


async def test_reflection_lists_every_registered_service(stack: Stack) -> None:
    listed = await reflection.services(stack.grpc_target)

    registered = {r.service for r in stack.api.registrations}
    assert CORE in registered
    assert listed == registered | {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    }


async def test_reflection_v1_lists_and_describes_what_v1alpha_does(stack: Stack) -> None:
    listed = await reflection.services(stack.grpc_target, version="v1")
    files = await reflection.file_containing(stack.grpc_target, CORE, version="v1")

    assert listed == await reflection.services(stack.grpc_target)
    assert files[0].name == core_pb2.DESCRIPTOR.name


async def test_reflection_gives_the_file_that_defines_core(stack: Stack) -> None:
    files = await reflection.file_containing(stack.grpc_target, CORE)

    defining = files[0]
    assert defining.name == core_pb2.DESCRIPTOR.name
    (service,) = [s for s in defining.service if s.name == "Core"]
    expected = core_pb2.DESCRIPTOR.services_by_name["Core"].methods_by_name
    assert {m.name for m in service.method} == set(expected)


async def test_reflection_needs_no_token_and_reports_unknown_symbols(stack: Stack) -> None:
    request = reflection.reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="amamba.io.api.core.v1alpha1.NoSuchService"
    )
    (answer,) = await reflection.ask(stack.grpc_target, request)

    assert answer.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]


async def test_health_reports_the_server_and_each_service_serving(stack: Stack) -> None:
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        overall = await health.Check(health_pb2.HealthCheckRequest(service=""))
        core = await health.Check(health_pb2.HealthCheckRequest(service=CORE))
        try:
            await health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
            raise AssertionError("an unknown service must not be reported healthy")
        except grpc.aio.AioRpcError as error:
            unknown = error.code()

    assert overall.status == health_pb2.HealthCheckResponse.SERVING
    assert core.status == health_pb2.HealthCheckResponse.SERVING
    assert unknown == grpc.StatusCode.NOT_FOUND


async def test_stopping_tells_health_watchers_every_service_is_not_serving(stack: Stack) -> None:
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        watches = [health.Watch(health_pb2.HealthCheckRequest(service=s)) for s in ("", CORE)]
        before = [(await watch.read()).status for watch in watches]

        stopping = asyncio.create_task(stack.api.stop())
        during = [(await asyncio.wait_for(watch.read(), 10)).status for watch in watches]
        await stopping

    assert before == [health_pb2.HealthCheckResponse.SERVING] * 2
    assert during == [health_pb2.HealthCheckResponse.NOT_SERVING] * 2
