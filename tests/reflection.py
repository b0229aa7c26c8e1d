"""A server reflection client for tests, over grpc.aio (the servers run in the test's loop)."""

from __future__ import annotations

import grpc
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc


async def ask(
    target: str, request: reflection_pb2.ServerReflectionRequest
) -> list[reflection_pb2.ServerReflectionResponse]:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        return [answer async for answer in stub.ServerReflectionInfo(iter([request]))]


async def services(target: str) -> set[str]:
    """The services the server at `target` lists through reflection."""
    (answer,) = await ask(target, reflection_pb2.ServerReflectionRequest(list_services=""))
    return {service.name for service in answer.list_services_response.service}


async def file_containing(target: str, symbol: str) -> list[descriptor_pb2.FileDescriptorProto]:
    """The file that defines `symbol` (first) and whatever it imports, through reflection."""
    request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol)
    (answer,) = await ask(target, request)
    assert answer.WhichOneof("message_response") == "file_descriptor_response", answer
    return [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in answer.file_descriptor_response.file_descriptor_proto
    ]
