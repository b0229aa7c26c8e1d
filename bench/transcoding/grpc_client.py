"""A minimal gRPC client over HTTP/2, the counterpart of the harness's HTTP/1.1 client.

grpc.aio's Python client costs several times more per call than the HTTP/1.1 keep-alive
client the REST side is timed with, so comparing the two measures the clients. This one is
as thin as that one: one connection on asyncio streams, unary calls one after another, the
HTTP/2 framing done by `h2` (a pure-Python protocol state machine, no I/O of its own).

A call is HEADERS (POST, the method's path, `content-type: application/grpc`, `te: trailers`,
the metadata) and one DATA frame carrying the length-prefixed message with END_STREAM; the
answer is response headers, DATA with one length-prefixed message, and trailers whose
`grpc-status` must be 0 (a trailers-only answer carries it in its headers). Received data is
acknowledged so the server's windows reopen; the request body waits for window when it has
to. Settings and pings are answered by `h2` itself. The headers are built once per method and
known to be valid, so `h2` is told not to check or rewrite them on every call, nor to check
the answer's header characters: the HTTP/1.1 client does neither, and both would be the
client's cost counted as the server's.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence
from typing import Protocol, TypeVar
from urllib.parse import unquote

import h2.config
import h2.connection
import h2.events

_PREFIX = struct.Struct(">BI")  # compressed flag, message length


class Message(Protocol):
    def SerializeToString(self) -> bytes: ...

    def ParseFromString(self, data: bytes, /) -> int: ...


M = TypeVar("M", bound=Message)


class GrpcStatusError(RuntimeError):
    """A call that ended with a grpc-status other than 0 (OK)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"grpc-status {code}: {message}")
        self.code = code
        self.message = message


class GrpcH2Client:
    """One HTTP/2 connection carrying unary gRPC calls, one at a time."""

    def __init__(self, host: str, port: int, *, metadata: Sequence[tuple[str, str]] = ()) -> None:
        self.host = host
        self.port = port
        self._metadata = [(key.encode(), value.encode()) for key, value in metadata]
        self._headers: dict[str, list[tuple[bytes, bytes]]] = {}
        config = h2.config.H2Configuration(
            client_side=True,
            header_encoding=None,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
            validate_inbound_headers=False,
        )
        self._conn = h2.connection.H2Connection(config=config)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._backlog: list[h2.events.Event] = []  # received while the body was being sent

    async def __aenter__(self) -> GrpcH2Client:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._conn.initiate_connection()  # the preface and our SETTINGS
        await self._flush()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._writer is not None:
            self._conn.close_connection()
            self._writer.write(self._conn.data_to_send())
            self._writer.close()

    def _request_headers(self, method: str) -> list[tuple[bytes, bytes]]:
        headers = self._headers.get(method)
        if headers is None:
            headers = [
                (b":method", b"POST"),
                (b":scheme", b"http"),
                (b":path", method.encode()),
                (b":authority", f"{self.host}:{self.port}".encode()),
                (b"content-type", b"application/grpc"),
                (b"te", b"trailers"),
                *self._metadata,
            ]
            self._headers[method] = headers
        return headers

    async def call(self, method: str, request: Message, response: M) -> M:
        """Call `method` ("/package.Service/Method"); `response` is filled and returned."""
        conn = self._conn
        stream_id = conn.get_next_available_stream_id()
        payload = request.SerializeToString()
        body = _PREFIX.pack(0, len(payload)) + payload
        conn.send_headers(stream_id, self._request_headers(method))
        await self._send_body(stream_id, body)

        head: dict[bytes, bytes] = {}
        trailers: dict[bytes, bytes] = {}
        data = bytearray()
        ended = False
        while not ended:
            events, self._backlog = self._backlog or await self._receive(), []
            for event in events:
                if getattr(event, "stream_id", stream_id) != stream_id:
                    continue
                if isinstance(event, h2.events.ResponseReceived):
                    head = dict(event.headers)  # type: ignore[arg-type]
                elif isinstance(event, h2.events.DataReceived):
                    data += event.data or b""
                    length = event.flow_controlled_length or 0
                    conn.acknowledge_received_data(length, stream_id)
                elif isinstance(event, h2.events.TrailersReceived):
                    trailers = dict(event.headers)  # type: ignore[arg-type]
                elif isinstance(event, h2.events.StreamEnded):
                    ended = True
                elif isinstance(event, h2.events.StreamReset):
                    raise ConnectionError(f"stream reset by the server: {event.error_code!r}")
                elif isinstance(event, h2.events.ConnectionTerminated):
                    raise ConnectionError(f"connection closed by the server: {event!r}")
            await self._flush()  # acknowledgements, settings ACKs, ping answers

        if head.get(b":status") != b"200":
            raise ConnectionError(f"HTTP status {head.get(b':status')!r} for {method}")
        status = trailers or head  # a trailers-only answer puts the status in the headers
        code = int(status.get(b"grpc-status", b"2"))  # missing: UNKNOWN
        if code != 0:
            raise GrpcStatusError(code, unquote(status.get(b"grpc-message", b"").decode()))
        if len(data) < _PREFIX.size:
            raise ConnectionError(f"{method} answered OK without a message")
        compressed, length = _PREFIX.unpack_from(data)
        if compressed or len(data) != _PREFIX.size + length:
            raise ConnectionError(f"{method} answered a compressed or malformed message")
        response.ParseFromString(bytes(data[_PREFIX.size :]))
        return response

    async def _send_body(self, stream_id: int, body: bytes) -> None:
        """Send as much as the windows allow, then wait for WINDOW_UPDATE; stop early if the
        server has already answered the whole call (its answer is kept for `call`)."""
        conn = self._conn
        offset = 0
        while True:
            window = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size)
            chunk = body[offset : offset + window]
            offset += len(chunk)
            last = offset == len(body)
            if chunk or last:
                conn.send_data(stream_id, chunk, end_stream=last)
            await self._flush()
            if last:
                return
            while conn.local_flow_control_window(stream_id) == 0:
                events = await self._receive()
                self._backlog += events
                await self._flush()
                for event in events:
                    if isinstance(event, h2.events.ConnectionTerminated):
                        return
                    closing = (h2.events.StreamEnded, h2.events.StreamReset)
                    if isinstance(event, closing) and event.stream_id == stream_id:
                        return

    async def _receive(self) -> list[h2.events.Event]:
        assert self._reader is not None
        data = await self._reader.read(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        return self._conn.receive_data(data)

    async def _flush(self) -> None:
        assert self._writer is not None
        outgoing = self._conn.data_to_send()
        if outgoing:
            self._writer.write(outgoing)
            await self._writer.drain()
