"""Wrapping gRPC method handlers, the mechanism every interceptor here is built on.

A `grpc.aio.ServerInterceptor` sees a call before its request arrives; to act around the
handler itself (check a token, time the call, translate an error) it returns a new
`RpcMethodHandler` whose behaviour wraps the original. `wrap` does that once for unary and
server-streaming methods, so each interceptor only writes its `around` coroutine. The REST
gateway runs the same interceptor chain in process, so whatever is done here applies to both.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

Behaviour = Callable[[Any, Any], Awaitable[Any]]
Around = Callable[[Behaviour, Any, Any], Awaitable[Any]]


def wrap(handler: grpc.RpcMethodHandler, around: Around) -> grpc.RpcMethodHandler:
    """A handler whose behaviour runs `around(call, request, context)`.

    `around` must await `call(request, context)` to run the original. For a server stream,
    `call` drains the stream into a list only when `around` chooses; the usual `around`
    wraps the iteration instead, see `wrap_stream`.
    """
    if handler.unary_unary is not None:
        inner = handler.unary_unary

        async def unary(request: Any, context: Any) -> Any:
            return await around(_as_coroutine(inner), request, context)

        return grpc.unary_unary_rpc_method_handler(
            unary,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return handler


def wrap_stream(
    handler: grpc.RpcMethodHandler,
    before: Callable[[Any, Any], Awaitable[None]],
    on_error: Callable[[BaseException, Any], Awaitable[None]] | None = None,
    *,
    after: Callable[[BaseException | None, Any], None] | None = None,
) -> grpc.RpcMethodHandler:
    """A server-streaming handler that runs `before` first and `on_error` if the stream fails.

    `after` runs once the stream has ended, however it ended: with the error that ended it
    (`CancelledError` or `GeneratorExit` when the caller went away), or None.
    """
    if handler.unary_stream is None:
        return handler
    inner = handler.unary_stream

    async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
        await before(request, context)
        async with _guard(context, on_error, after):
            async for item in inner(request, context):
                yield item

    async def written(request: Any, context: Any) -> None:
        await before(request, context)
        async with _guard(context, on_error, after):
            result = inner(request, context)
            if isinstance(result, Awaitable):
                await result

    # IMPORTANT: keep the original's shape. grpc.aio serves an async generator by iterating
    # it and a coroutine (grpcio-health-checking's Watch) by awaiting it while it calls
    # `context.write`; iterating a coroutine fails the call.
    behaviour = stream if inspect.isasyncgenfunction(inner) else written
    return grpc.unary_stream_rpc_method_handler(
        behaviour,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


@contextlib.asynccontextmanager
async def _guard(
    context: Any,
    on_error: Callable[[BaseException, Any], Awaitable[None]] | None,
    after: Callable[[BaseException | None, Any], None] | None,
) -> AsyncIterator[None]:
    """`on_error` for what ends a stream with an error, then `after`, however it ended."""
    ended: BaseException | None = None
    try:
        yield
    except BaseException as error:
        ended = error
        if on_error is None:
            raise
        await on_error(error, context)
    finally:
        if after is not None:
            after(ended, context)


def _as_coroutine(behaviour: Callable[[Any, Any], Any]) -> Behaviour:
    async def call(request: Any, context: Any) -> Any:
        result = behaviour(request, context)
        if isinstance(result, Awaitable):
            return await result
        return result

    return call
