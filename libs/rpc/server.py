"""Building a grpc.aio server the way every Workbench service runs one.

Standard health checking (`grpc.health.v1.Health`, each service SERVING once started) and
server reflection for every service registered, so `grpcurl`, `grpc_cli` and Postman work
without the `.proto` files.

Reflection is served in both versions of its protocol. grpcio-reflection only implements
`grpc.reflection.v1alpha`, while current clients ask `grpc.reflection.v1` first. The two
protos are the same messages on the wire under another package name, so the v1 method is a
generic handler in front of the v1alpha servicer, and a copy of the v1alpha file renamed to
v1 is added to the descriptor pool, so that v1 is described like any other service.

Shutdown (`stop_serving`): health first reports every service NOT_SERVING, which its
watchers are told at once, and only then does the server stop taking calls, giving those in
flight their grace period; a load balancer watching health stops sending calls before they
would be refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TypeAlias

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

HealthServicer: TypeAlias = health.aio.HealthServicer  # grpcio-health-checking's asyncio one

REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"
_V1ALPHA_PACKAGE = "grpc.reflection.v1alpha"
_V1_PACKAGE = "grpc.reflection.v1"


def create_server(
    interceptors: Sequence[grpc.aio.ServerInterceptor], *, max_message_bytes: int = 16 * 2**20
) -> grpc.aio.Server:
    options = [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
    ]
    return grpc.aio.server(interceptors=list(interceptors), options=options)


async def add_health_and_reflection(
    server: grpc.aio.Server, service_names: Sequence[str]
) -> HealthServicer:
    """Register health (all services SERVING) and reflection (v1 and v1alpha) for
    `service_names`; the health servicer is what `stop_serving` needs."""
    checker = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    for name in ("", *service_names):
        await checker.set(name, health_pb2.HealthCheckResponse.SERVING)

    _add_reflection_v1_descriptor(descriptor_pool.Default())
    names = [*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME, REFLECTION_V1]
    servicer = reflection.aio.ReflectionServicer(names)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    server.add_generic_rpc_handlers([_reflection_v1_handler(servicer)])
    return checker


async def stop_serving(
    server: grpc.aio.Server,
    checker: HealthServicer | None,
    *,
    grace: float,
    drain: float = 0.0,
) -> None:
    """Report every service NOT_SERVING, wait `drain` seconds (still taking calls, for load
    balancers that poll), then stop, giving calls in flight `grace` seconds."""
    if checker is not None:
        await checker.enter_graceful_shutdown()
        if drain > 0:
            await asyncio.sleep(drain)
    await server.stop(grace)


def _reflection_v1_handler(servicer: reflection.aio.ReflectionServicer) -> grpc.GenericRpcHandler:
    """`grpc.reflection.v1.ServerReflection/ServerReflectionInfo`, answered by the v1alpha
    servicer with v1alpha messages: the bytes are the same."""
    method = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    return grpc.method_handlers_generic_handler(REFLECTION_V1, {"ServerReflectionInfo": method})


def _add_reflection_v1_descriptor(pool: descriptor_pool.DescriptorPool) -> None:
    """Put `grpc/reflection/v1/reflection.proto` in the pool, made from the v1alpha file."""
    name = "grpc/reflection/v1/reflection.proto"
    try:
        pool.FindFileByName(name)
        return
    except KeyError:
        pass

    source = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(source)
    source.name = name
    source.package = _V1_PACKAGE
    source.ClearField("options")
    old, new = f".{_V1ALPHA_PACKAGE}.", f".{_V1_PACKAGE}."

    for message_type in source.message_type:
        for field in message_type.field:
            if field.type_name.startswith(old):
                field.type_name = new + field.type_name[len(old) :]
    for service in source.service:
        for method in service.method:
            method.input_type = new + method.input_type[len(old) :]
            method.output_type = new + method.output_type[len(old) :]
    pool.Add(source)
