"""The client of devops-server's internal gRPC SDK, used by apiserver and syncer.

    client = DevopsClient("127.0.0.1:9091", token)
    roles = await client.call(client.tenancy.GetUserRoles, GetUserRolesRequest(username="bob"))

`call` adds the internal token, the end user and the request id to the metadata, and turns a
failed call back into the domain error devops-server raised, so an apiserver handler can let it
propagate and the caller sees the same code and message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import grpc
from workbench_sdk.devops.v1 import (
    catalog_pb2_grpc,
    jenkins_pb2_grpc,
    pipelines_pb2_grpc,
    runs_pb2_grpc,
    tenancy_pb2_grpc,
)

from libs.common import log
from libs.common.errors import Unavailable, from_grpc
from libs.rpc.internal import call_metadata

Response = TypeVar("Response")

# Trailing metadata key devops-server sets on an UNAVAILABLE answer when a dependency of its
# own (Jenkins) is down, so the caller passes its message on instead of "not reachable".
DEPENDENCY_DOWN = "x-workbench-dependency-down"


class DevopsClient:
    def __init__(self, address: str, token: str) -> None:
        self._token = token
        self._channel = grpc.aio.insecure_channel(address)
        self.tenancy = tenancy_pb2_grpc.TenancyStub(self._channel)
        self.jenkins = jenkins_pb2_grpc.JenkinsInstancesStub(self._channel)
        self.runs = runs_pb2_grpc.RunsStub(self._channel)
        self.catalog = catalog_pb2_grpc.CatalogStub(self._channel)
        self.pipelines = pipelines_pb2_grpc.PipelineDefinitionsStub(self._channel)
        self.management = pipelines_pb2_grpc.JenkinsManagementStub(self._channel)

    async def close(self) -> None:
        await self._channel.close()

    def metadata(self, user: str | None = None) -> tuple[tuple[str, str], ...]:
        return call_metadata(self._token, user if user is not None else log.user.get())

    async def call(
        self,
        rpc: Callable[..., Any],
        request: Any,
        *,
        user: str | None = None,
        deadline_seconds: float = 30.0,
    ) -> Any:
        """One unary call; devops-server's error comes back as the same domain error."""
        try:
            return await rpc(request, metadata=self.metadata(user), timeout=deadline_seconds)
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error

    async def stream(
        self, rpc: Callable[..., Any], request: Any, *, user: str | None = None
    ) -> AsyncIterator[Any]:
        """A server stream; ends by raising the domain error devops-server raised."""
        call = rpc(request, metadata=self.metadata(user))
        try:
            async for item in call:
                yield item
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error


def _translate(error: grpc.aio.AioRpcError) -> Exception:
    code = error.code()
    if code == grpc.StatusCode.UNAVAILABLE and _dependency_down(error):
        # devops-server itself answered UNAVAILABLE: a dependency of its own (Jenkins) is down,
        # and its message says which; only a call that never reached it is "not reachable".
        return Unavailable(error.details() or code.name)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return Unavailable("devops-server is not reachable; try again shortly")
    return from_grpc(code, error.details() or code.name)


def _dependency_down(error: grpc.aio.AioRpcError) -> bool:
    """Whether devops-server marked the UNAVAILABLE as its dependency's (`DEPENDENCY_DOWN`)."""
    return any(key == DEPENDENCY_DOWN for key, _ in error.trailing_metadata() or ())
