"""The internal token between Workbench services.

devops-server's SDK is for apiserver and syncer only. Each call carries
`authorization: Bearer <internal token>` (the same secret configured on every service), and the
end user the call is made for, if any, in `x-workbench-user`. devops-server refuses calls
without the token; the comparison is constant-time.
"""

from __future__ import annotations

import hmac
from typing import Any

import grpc

from libs.common import log
from libs.common.errors import Unauthenticated
from libs.rpc.handlers import Behaviour, wrap, wrap_stream
from libs.rpc.interceptors import Continuation, metadata_value

USER_KEY = "x-workbench-user"


def call_metadata(token: str, user: str | None = None) -> tuple[tuple[str, str], ...]:
    """The metadata an SDK call carries."""
    pairs: list[tuple[str, str]] = [("authorization", f"Bearer {token}")]
    if user:
        pairs.append((USER_KEY, user))
    request_id = log.request_id.get()
    if request_id:
        pairs.append(("x-request-id", request_id))
    return tuple(pairs)


class InternalTokenInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Refuses every call that does not present the internal token (health excepted)."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    async def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(details)
        if handler is None or details.method.startswith(("/grpc.health.", "/grpc.reflection.")):
            return handler
        presented = (metadata_value(details.invocation_metadata, "authorization") or "").encode()
        allowed = hmac.compare_digest(presented, self._expected)
        caller = metadata_value(details.invocation_metadata, USER_KEY)

        async def check(request: Any, context: Any) -> None:
            if not allowed:
                raise Unauthenticated("this service takes calls from Workbench services only")
            log.user.set(caller)

        async def around(call: Behaviour, request: Any, context: Any) -> Any:
            await check(request, context)
            return await call(request, context)

        if handler.unary_stream is not None:
            return wrap_stream(handler, check)
        return wrap(handler, around)
