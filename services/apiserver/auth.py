"""Authentication and authorisation of every apiserver call, gRPC and REST alike.

The interceptor verifies the bearer token, finds the method's rule in `rbac.RULES` and checks
the caller against it before the handler runs. Handlers read the caller from `current()`.
A workspace member's roles come from devops-server, asked once per call that needs them.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
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


class RoleCache:
    """Users' workspace roles, asked of devops-server and remembered for `ttl` seconds.

    Nearly every call needs the caller's roles, and asking devops-server costs as much as the
    call's own work. A grant or revocation therefore takes effect within `ttl` seconds (2 by
    default, `WORKBENCH_ROLE_CACHE_SECONDS`; 0 asks every time), the same bound Kubernetes'
    own authorisation caches accept. Concurrent misses for one user share one request.
    """

    def __init__(self, client: DevopsClient, ttl: float, *, size: int = 10_000) -> None:
        self._client = client
        self._ttl = ttl
        self._size = size
        self._known: dict[str, tuple[float, dict[int, str]]] = {}
        self._asking: dict[str, asyncio.Future[dict[int, str]]] = {}

    async def roles(self, username: str) -> dict[int, str]:
        now = time.monotonic()
        known = self._known.get(username)
        if known is not None and now - known[0] < self._ttl:
            return known[1]
        asking = self._asking.get(username)
        if asking is not None:
            return await asyncio.shield(asking)

        future: asyncio.Future[dict[int, str]] = asyncio.get_running_loop().create_future()
        self._asking[username] = future
        try:
            answer = await self._client.call(
                self._client.tenancy.GetUserRoles,
                tenancy_pb2.GetUserRolesRequest(username=username),
            )
            roles = dict(answer.workspaces)
            future.set_result(roles)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # marks it retrieved when nobody else waits
            raise
        finally:
            del self._asking[username]

        if self._ttl > 0:
            if len(self._known) >= self._size:
                self._known.clear()
            self._known[username] = (now, roles)
        return roles


@dataclass
class Caller:
    identity: Identity
    platform_admin: bool
    _cache: RoleCache
    _roles: dict[int, str] | None = field(default=None)

    @property
    def username(self) -> str:
        return self.identity.username

    async def roles(self) -> dict[int, str]:
        """The caller's role in each workspace where it holds one."""
        if self._roles is None:
            self._roles = await self._cache.roles(self.username)
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
        self,
        verifier: TokenVerifier,
        client: DevopsClient,
        platform_admins: list[str],
        *,
        role_cache_seconds: float = 2.0,
    ) -> None:
        self._verifier = verifier
        self._roles = RoleCache(client, role_cache_seconds)
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
            caller = Caller(identity, identity.username in self._admins, self._roles)
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
        if rule.scope is Scope.WORKSPACE_IF_GIVEN and not request.workspace_id:
            return
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        if rule.permission not in await caller.permissions_in(workspace_id):
            raise PermissionDenied(DENIED)
