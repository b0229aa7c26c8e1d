"""A server reflection client for tests, over grpc.aio (the servers run in the test's loop)."""

from __future__ import annotations

import grpc
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc


async def ask(
    target: str, request: reflection_pb2.ServerReflectionRequest, *, version: str = "v1alpha"
) -> list[reflection_pb2.ServerReflectionResponse]:
    """One request to `grpc.reflection.<version>`: v1 is called by its method path with the
    v1alpha messages, which are the same on the wire, as a v1 client's would be."""
    async with grpc.aio.insecure_channel(target) as channel:
        if version == "v1alpha":
            call = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo
        else:
            call = channel.stream_stream(
                f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
                request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
            )
        return [answer async for answer in call(iter([request]), timeout=10)]


async def services(target: str, *, version: str = "v1alpha") -> set[str]:
    """The services the server at `target` lists through reflection."""
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    (answer,) = await ask(target, request, version=version)
    return {service.name for service in answer.list_services_response.service}


async def file_containing(
    target: str, symbol: str, *, version: str = "v1alpha"
) -> list[descriptor_pb2.FileDescriptorProto]:
    """The file that defines `symbol` (first) and whatever it imports, through reflection."""
    request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol)
    (answer,) = await ask(target, request, version=version)
    assert answer.WhichOneof("message_response") == "file_descriptor_response", answer
    return [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in answer.file_descriptor_response.file_descriptor_proto
    ]
