"""The servicer context a handler sees when it is called over REST.

Handlers, and the interceptors around them, are written for `grpc.aio`: they read
`context.invocation_metadata()`, call `await context.abort(code, details)`, set codes, send
initial metadata, attach trailing metadata (rich error details travel as
`grpc-status-details-bin`). `RestServicerContext` implements that surface in-process, so the
same code runs unchanged for a REST call; the gateway then reads back what the handler left
in it (status, details, initial and trailing metadata).

`abort` raises `grpc.aio.AbortError`, the very exception `grpc.aio` uses, so an interceptor
that lets aborts through by type keeps working. A plain (non-async) handler gets
`SyncRestServicerContext`, whose `abort` raises at once, as grpc.aio does for sync handlers.

What does not apply to an in-process call answers neutrally: no peer identities, an empty
auth context, compression settings ignored, `read()` refused (no client streaming over REST).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn

import grpc
import grpc.aio

logger = logging.getLogger(__name__)

Metadata = tuple[tuple[str, str | bytes], ...]


class CallDetails(grpc.HandlerCallDetails):  # type: ignore[misc]
    """`grpc.HandlerCallDetails` for interceptors: the gRPC method and request metadata."""

    __slots__ = ("invocation_metadata", "method")

    def __init__(self, method: str, invocation_metadata: Metadata) -> None:
        self.method = method
        self.invocation_metadata = invocation_metadata

    def __repr__(self) -> str:
        return f"CallDetails({self.method!r})"


class _ContextBase(grpc.aio.ServicerContext):  # type: ignore[misc]
    """State and the synchronous half of the servicer context surface."""

    def __init__(
        self,
        *,
        invocation_metadata: Metadata,
        peer: str,
        deadline: float | None = None,
    ) -> None:
        self._invocation_metadata = invocation_metadata
        self._peer = peer
        self._deadline = deadline  # time.monotonic() based
        self._code: grpc.StatusCode | None = None
        self._details: str | None = None
        self._initial_metadata: Metadata = ()
        self._trailing_metadata: Metadata = ()
        self._headers_sent = False
        self._cancelled = False
        self._done = False
        self._done_callbacks: list[Callable[[Any], None]] = []
        self._writer: Callable[[Any], Awaitable[None]] | None = None

    # --- what the handler reads ---------------------------------------------------------

    def invocation_metadata(self) -> Metadata:
        return self._invocation_metadata

    def peer(self) -> str:
        return self._peer

    def peer_identities(self) -> None:
        return None

    def peer_identity_key(self) -> None:
        return None

    def auth_context(self) -> dict[str, list[bytes]]:
        return {}

    def time_remaining(self) -> float | None:
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - time.monotonic())

    def cancelled(self) -> bool:
        return self._cancelled

    def done(self) -> bool:
        return self._done

    # --- what the handler sets ----------------------------------------------------------

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code

    def set_details(self, details: str) -> None:
        self._details = details

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def details(self) -> str | None:
        return self._details

    def set_trailing_metadata(self, trailing_metadata: Sequence[tuple[str, str | bytes]]) -> None:
        self._trailing_metadata = tuple(trailing_metadata)

    def trailing_metadata(self) -> Metadata:
        return self._trailing_metadata

    def set_compression(self, compression: Any) -> None:
        """Compression does not apply to an in-process call."""

    def disable_next_message_compression(self) -> None:
        """Compression does not apply to an in-process call."""

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        self._done_callbacks.append(callback)

    # --- used by the gateway ------------------------------------------------------------

    @property
    def initial_metadata_sent(self) -> Metadata:
        return self._initial_metadata

    def mark_headers_sent(self) -> None:
        self._headers_sent = True

    def finish(self, *, cancelled: bool = False) -> None:
        """Mark the call over and run the done callbacks (errors in them are only logged)."""
        self._done = True
        self._cancelled = self._cancelled or cancelled
        for callback in self._done_callbacks:
            try:
                callback(self)
            except Exception:
                logger.exception("a done callback of a REST call failed")

    def _record_initial_metadata(self, metadata: Sequence[tuple[str, str | bytes]]) -> None:
        if self._headers_sent:
            raise RuntimeError("initial metadata can only be sent before the first response")
        self._initial_metadata = tuple(metadata)

    def _record_abort(
        self, code: grpc.StatusCode, details: str, trailing_metadata: Sequence[Any]
    ) -> NoReturn:
        if code == grpc.StatusCode.OK:
            raise ValueError("abort() needs a non-OK status code")
        self._code = code
        self._details = details
        if trailing_metadata:
            self._trailing_metadata = tuple(trailing_metadata)
        raise grpc.aio.AbortError()


class RestServicerContext(_ContextBase):
    """The `grpc.aio.ServicerContext` given to `async def` handlers."""

    async def abort(
        self,
        code: grpc.StatusCode,
        details: str = "",
        trailing_metadata: Sequence[tuple[str, str | bytes]] = (),
    ) -> NoReturn:
        self._record_abort(code, details, trailing_metadata)

    async def abort_with_status(self, status: Any) -> NoReturn:
        self._record_abort(status.code, status.details, status.trailing_metadata)

    async def send_initial_metadata(
        self, initial_metadata: Sequence[tuple[str, str | bytes]]
    ) -> None:
        self._record_initial_metadata(initial_metadata)

    async def read(self) -> NoReturn:
        raise RuntimeError("read() is not available: REST calls carry a single request")

    async def write(self, message: Any) -> None:
        if self._writer is None:
            raise RuntimeError("write() is only available to server-streaming handlers")
        await self._writer(message)


class SyncRestServicerContext(_ContextBase):
    """The context given to plain (non-async) handlers: `abort` raises immediately."""

    def abort(
        self,
        code: grpc.StatusCode,
        details: str = "",
        trailing_metadata: Sequence[tuple[str, str | bytes]] = (),
    ) -> NoReturn:
        self._record_abort(code, details, trailing_metadata)

    def abort_with_status(self, status: Any) -> NoReturn:
        self._record_abort(status.code, status.details, status.trailing_metadata)

    def send_initial_metadata(self, initial_metadata: Sequence[tuple[str, str | bytes]]) -> None:
        self._record_initial_metadata(initial_metadata)

    def read(self) -> NoReturn:
        raise RuntimeError("read() is not available: REST calls carry a single request")

    def write(self, message: Any) -> None:
        raise RuntimeError("write() is not available to a sync handler; yield the messages")

    def is_active(self) -> bool:
        return not self._done


def loop_time_deadline(timeout: float | None) -> float | None:
    """A monotonic deadline `timeout` seconds from now."""
    return None if timeout is None else time.monotonic() + timeout
