"""Calling a gRPC handler in-process, through the server's interceptors.

The gateway holds the same `grpc.GenericRpcHandler`s and `grpc.aio.ServerInterceptor`s as
the grpc.aio server, and resolves a method handler the way grpc.aio does: each interceptor's
`intercept_service(continuation, details)` in order, the innermost continuation asking the
generic handlers in turn. Authentication, logging, metrics and error mapping written as
interceptors therefore apply to REST calls unchanged, and an interceptor that answers by
returning an aborting handler is honoured too.

The resolved handler's behaviour is called like grpc.aio calls it: `async def` behaviours are
awaited with `RestServicerContext`; plain functions get `SyncRestServicerContext` and run
inline, or in the executor given to the gateway (grpc.aio's `migration_thread_pool`).
Server-streaming behaviours may be async generators, coroutines that `await context.write()`,
or plain generators.

Outcomes become `GatewayError`s in one place (`_error_from_exception`), with grpc.aio's
rules: an abort carries the code, details and trailing metadata the handler set; a code set
with `set_code` and a normal return is still an error; any other exception is UNKNOWN
("Unexpected <type>: <message>", as grpc.aio reports it); an expired `Grpc-Timeout` is
DEADLINE_EXCEEDED.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor
from typing import Any

import grpc
import grpc.aio
from google.protobuf import message

from libs.transcoding._context import (
    CallDetails,
    RestServicerContext,
    SyncRestServicerContext,
    _ContextBase,
)
from libs.transcoding._status import GatewayError, details_from_trailing_metadata

logger = logging.getLogger(__name__)

_STREAM_END = object()


class Dispatcher:
    """Resolves and calls the method handlers of one set of services."""

    def __init__(
        self,
        handlers: Sequence[Any],
        interceptors: Sequence[Any],
        executor: Executor | None = None,
    ) -> None:
        self._handlers = tuple(handlers)
        self._interceptors = tuple(interceptors)
        self._executor = executor

    async def resolve(self, details: CallDetails) -> Any:
        """The method handler after every interceptor, or None if nothing serves it."""
        if not self._interceptors:
            return self._query_handlers(details)
        return await self._intercept(0, details)

    async def _intercept(self, index: int, details: CallDetails) -> Any:
        if index == len(self._interceptors):
            return self._query_handlers(details)
        continuation = functools.partial(self._intercept, index + 1)
        return await self._interceptors[index].intercept_service(continuation, details)

    def _query_handlers(self, details: CallDetails) -> Any:
        for generic_handler in self._handlers:
            method_handler = generic_handler.service(details)
            if method_handler is not None:
                return method_handler
        return None

    def make_context(
        self, behaviour: Callable[..., Any], **kwargs: Any
    ) -> RestServicerContext | SyncRestServicerContext:
        """The context flavour a behaviour expects (async or sync)."""
        if inspect.iscoroutinefunction(behaviour) or inspect.isasyncgenfunction(behaviour):
            return RestServicerContext(**kwargs)
        return SyncRestServicerContext(**kwargs)

    async def call_unary(
        self, behaviour: Callable[..., Any], request: message.Message, context: _ContextBase
    ) -> message.Message:
        """Run a unary-unary behaviour to its response, or raise `GatewayError`."""
        try:
            async with asyncio.timeout(context.time_remaining()):
                if inspect.iscoroutinefunction(behaviour):
                    response = await behaviour(request, context)
                else:
                    response = await self._run_sync(behaviour, request, context)
                    if inspect.isawaitable(response):
                        response = await response
        except Exception as exc:
            raise _error_from_exception(exc, context) from exc

        _raise_if_code_set(context)
        if response is None:
            raise GatewayError(grpc.StatusCode.INTERNAL, "the handler returned no response")
        return response  # type: ignore[no-any-return]

    async def call_stream(
        self, behaviour: Callable[..., Any], request: message.Message, context: _ContextBase
    ) -> AsyncIterator[message.Message]:
        """Run a unary-stream behaviour, yielding its messages; errors as `GatewayError`."""
        try:
            async with asyncio.timeout(context.time_remaining()):
                if inspect.isasyncgenfunction(behaviour):
                    async for item in behaviour(request, context):
                        yield item
                elif inspect.iscoroutinefunction(behaviour):
                    async for item in self._written_messages(behaviour, request, context):
                        yield item
                else:
                    iterator = await self._run_sync(behaviour, request, context)
                    for item in iterator:
                        yield item
        except Exception as exc:
            raise _error_from_exception(exc, context) from exc

        _raise_if_code_set(context)

    async def call_unary_as_stream(
        self, behaviour: Callable[..., Any], request: message.Message, context: _ContextBase
    ) -> AsyncIterator[message.Message]:
        """A unary behaviour serving a streaming binding: a stream of its one response."""
        yield await self.call_unary(behaviour, request, context)

    async def _written_messages(
        self, behaviour: Callable[..., Any], request: message.Message, context: _ContextBase
    ) -> AsyncIterator[message.Message]:
        """Messages a coroutine behaviour sends with `await context.write(...)`."""
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)
        context._writer = queue.put

        async def run() -> None:
            try:
                result = await behaviour(request, context)
                if result is not None:
                    async for item in result:  # a coroutine returning an async iterator
                        await queue.put(item)
            finally:
                await queue.put(_STREAM_END)

        task = asyncio.create_task(run())
        try:
            while (item := await queue.get()) is not _STREAM_END:
                yield item
            await task  # re-raises the behaviour's error, if any
        finally:
            if not task.done():
                task.cancel()

    async def _run_sync(
        self, behaviour: Callable[..., Any], request: message.Message, context: _ContextBase
    ) -> Any:
        if self._executor is None:
            return behaviour(request, context)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, behaviour, request, context)


def _raise_if_code_set(context: _ContextBase) -> None:
    code = context.code()
    if code is not None and code != grpc.StatusCode.OK:
        raise GatewayError(
            code,
            context.details() or "",
            details=details_from_trailing_metadata(context.trailing_metadata()),
        )


def _error_from_exception(exc: Exception, context: _ContextBase) -> GatewayError:
    """The one translation from what a handler raised to the status the client sees."""
    if isinstance(exc, GatewayError):
        return exc

    if isinstance(exc, grpc.aio.AbortError):
        code = context.code() or grpc.StatusCode.UNKNOWN
        return GatewayError(
            code,
            context.details() or "",
            details=details_from_trailing_metadata(context.trailing_metadata()),
        )

    code = context.code()
    if code is not None and code != grpc.StatusCode.OK:
        # set_code() then raise, as generated base classes do for unimplemented methods
        return GatewayError(
            code,
            context.details() or "",
            details=details_from_trailing_metadata(context.trailing_metadata()),
        )

    if isinstance(exc, TimeoutError) and context.time_remaining() == 0.0:
        return GatewayError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")

    logger.error("unexpected %s raised by a handler", type(exc).__name__, exc_info=exc)
    return GatewayError(grpc.StatusCode.UNKNOWN, f"Unexpected {type(exc)}: {exc}")
