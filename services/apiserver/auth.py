"""Authentication and authorisation of every apiserver call, gRPC and REST alike.

The interceptor verifies the bearer token, finds the method's rule in `rbac.RULES` and checks
the caller against it before the handler runs. Handlers read the caller from `current()`.
A workspace member's roles come from devops-server, asked once per call that needs them.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any

import grpc
from workbench_sdk.devops.v1 import tenancy_pb2

from libs.auth.tokens import Identity, TokenVerifier
from libs.common import log, names
from libs.common.errors import PermissionDenied
from libs.devops_client import DevopsClient
from libs.rpc.handlers import Behaviour, wrap, wrap_stream
from libs.rpc.interceptors import Continuation, metadata_value
from services.apiserver.rbac import RULES, Rule, Scope, permissions_of

DENIED = "you do not have permission to do this"


@dataclass
class Caller:
    identity: Identity
    platform_admin: bool
    _client: DevopsClient
    _roles: dict[int, str] | None = field(default=None)

    @property
    def username(self) -> str:
        return self.identity.username

    async def roles(self) -> dict[int, str]:
        """The caller's role in each workspace where it holds one."""
        if self._roles is None:
            answer = await self._client.call(
                self._client.tenancy.GetUserRoles,
                tenancy_pb2.GetUserRolesRequest(username=self.username),
            )
            self._roles = dict(answer.workspaces)
        return self._roles

    async def permissions_in(self, workspace_id: int) -> frozenset[str]:
        if self.platform_admin:
            return permissions_of(None, platform_admin=True)
        return permissions_of((await self.roles()).get(workspace_id), platform_admin=False)


_caller: contextvars.ContextVar[Caller] = contextvars.ContextVar("caller")


def current() -> Caller:
    """The authenticated caller of the RPC being served."""
    return _caller.get()


class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(
        self, verifier: TokenVerifier, client: DevopsClient, platform_admins: list[str]
    ) -> None:
        self._verifier = verifier
        self._client = client
        self._admins = frozenset(platform_admins)

    async def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(details)
        if handler is None or details.method.startswith(("/grpc.health.", "/grpc.reflection.")):
            return handler
        rule = RULES.get(details.method)
        authorization = metadata_value(details.invocation_metadata, "authorization")

        async def check(request: Any, context: Any) -> None:
            identity = await self._verifier.verify(authorization)
            log.user.set(identity.username)
            caller = Caller(identity, identity.username in self._admins, self._client)
            _caller.set(caller)
            await self._authorise(rule, caller, request)

        async def around(call: Behaviour, request: Any, context: Any) -> Any:
            await check(request, context)
            return await call(request, context)

        if handler.unary_stream is not None:
            return wrap_stream(handler, check)
        return wrap(handler, around)

    async def _authorise(self, rule: Rule | None, caller: Caller, request: Any) -> None:
        if rule is None:
            raise PermissionDenied(DENIED)
        if rule.scope is Scope.SIGNED_IN or caller.platform_admin:
            return
        if rule.scope is Scope.PLATFORM:
            raise PermissionDenied(DENIED)
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        if rule.permission not in await caller.permissions_in(workspace_id):
            raise PermissionDenied(DENIED)
