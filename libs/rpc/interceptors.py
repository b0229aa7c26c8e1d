"""The interceptors every Workbench gRPC server runs, outermost first.

1. `ObservabilityInterceptor`: gives the call a request id (the caller's `x-request-id` or a
   new one), writes one log line when it ends (method, code, duration, user) and records the
   Prometheus request counter and latency histogram (`record`). A server stream is recorded
   when it ends, with the code it ended with (CANCELLED when the caller went away) and its
   whole duration.
2. `ErrorInterceptor`: turns a `WorkbenchError` into its gRPC status. A database's data
   exception (SQLSTATE class 22: a NUL character in text, a number out of its column's range)
   is a value the request carried that nothing checked before, so INVALID_ARGUMENT with the
   database's reason. Anything else is a bug, logged with its traceback, and the caller sees
   INTERNAL with the request id only.

Authentication comes after these, so a refused call is still logged, counted and mapped. The
REST gateway runs this same chain for every transcoded request.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc.aio import AbortError
from prometheus_client import Counter, Histogram

from libs.common import log
from libs.common.errors import WorkbenchError
from libs.rpc.handlers import Behaviour, wrap, wrap_stream

logger = logging.getLogger(__name__)

REQUESTS = Counter(
    "workbench_grpc_requests_total", "RPCs served, by method and status code", ["method", "code"]
)
LATENCY = Histogram(
    "workbench_grpc_request_duration_seconds",
    "Time to serve an RPC, by method",
    ["method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]]


def metadata_value(metadata: Any, key: str) -> str | None:
    """The first value of `key` in gRPC invocation metadata, if present."""
    for item in metadata or ():
        name, value = item[0], item[1]
        if name == key:
            return value if isinstance(value, str) else value.decode()
    return None


def _data_exception(error: BaseException) -> str | None:
    """The database's reason, if `error` is a data exception (SQLSTATE class 22)."""
    driver_error = getattr(error, "orig", None)  # SQLAlchemy keeps the driver's error here
    state = getattr(driver_error, "sqlstate", None)
    if not isinstance(state, str) or not state.startswith("22"):
        return None
    return str(driver_error).splitlines()[0][:200]


def record(method: str, code: str, seconds: float) -> None:
    """Count a call in the request metrics; the REST gateway's refusals are counted here too."""
    REQUESTS.labels(method, code).inc()
    LATENCY.labels(method).observe(seconds)


def _status_of(error: BaseException | None, context: Any) -> str:
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        return "CANCELLED"
    if error is None:
        code = context.code() if hasattr(context, "code") else None
        return code.name if isinstance(code, grpc.StatusCode) else "OK"
    if isinstance(error, WorkbenchError):
        return str(error.code.name)
    if isinstance(error, AbortError):
        code = context.code()
        return code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
    return "INTERNAL"


class ObservabilityInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Request id, one log line and metrics for every call."""

    async def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(details)
        if handler is None:
            return None
        method = details.method
        incoming_id = metadata_value(details.invocation_metadata, "x-request-id")

        def begin() -> float:
            log.request_id.set(incoming_id or uuid.uuid4().hex[:16])
            log.user.set(None)
            return time.perf_counter()

        def end(started: float, error: BaseException | None, context: Any) -> None:
            elapsed = time.perf_counter() - started
            code = _status_of(error, context)
            record(method, code, elapsed)
            logger.info(
                "rpc %s %s %.1fms",
                method,
                code,
                elapsed * 1000,
                extra={"user_name": log.user.get()},
            )

        async def around(call: Behaviour, request: Any, context: Any) -> Any:
            started = begin()
            try:
                response = await call(request, context)
            except BaseException as error:
                end(started, error, context)
                raise
            end(started, None, context)
            return response

        if handler.unary_stream is not None:
            started_at: list[float] = []

            async def before(request: Any, context: Any) -> None:
                started_at.append(begin())

            def after(error: BaseException | None, context: Any) -> None:
                end(started_at[-1], error, context)

            return wrap_stream(handler, before, after=after)
        return wrap(handler, around)


class ErrorInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Domain errors to gRPC codes; unexpected exceptions to a generic INTERNAL."""

    async def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(details)
        if handler is None:
            return None
        method = details.method

        async def translate(error: BaseException, context: Any) -> None:
            if isinstance(error, WorkbenchError):
                await context.abort(error.code, error.message)
            if isinstance(error, AbortError | grpc.RpcError) or not isinstance(error, Exception):
                raise error
            if isinstance(error, NotImplementedError):
                # The generated servicer base class answers every method nobody wrote so.
                await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented")
            refused = _data_exception(error)
            if refused is not None:
                logger.info("%s: the database refused a value: %s", method, refused)
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT, f"a value cannot be stored: {refused}"
                )
            logger.error("unexpected error in %s", method, exc_info=error)
            await context.abort(
                grpc.StatusCode.INTERNAL, f"internal error (request id {log.request_id.get()})"
            )

        async def around(call: Behaviour, request: Any, context: Any) -> Any:
            try:
                return await call(request, context)
            except BaseException as error:
                await translate(error, context)
                raise

        if handler.unary_stream is not None:

            async def nothing(request: Any, context: Any) -> None:
                return None

            return wrap_stream(handler, nothing, translate)
        return wrap(handler, around)
