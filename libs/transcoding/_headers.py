"""HTTP headers to gRPC metadata and back, as grpc-gateway v2 does it.

Request headers that become invocation metadata (grpc-gateway `runtime/context.go`):

- `Authorization` as `authorization`;
- `Grpc-Metadata-<Key>: v` as `<key>: v` (prefix stripped; `-bin` keys base64-decoded);
- `X-Request-Id` as `x-request-id` (this project's request correlation);
- `X-Forwarded-Host` (or else `Host`) and `X-Forwarded-For` with the client address
  appended, plus any other `X-Forwarded-*` as is;
- `Grpc-Timeout` (`10S`, `250m`, ...) sets the call's deadline.

Keys that are not valid gRPC metadata keys, reserved `grpc-` keys, and values with
characters gRPC metadata cannot carry are dropped with a debug log, as grpc-gateway skips
them.

Response metadata the handler sent with `send_initial_metadata` comes back as
`Grpc-Metadata-<key>` headers (bytes values base64-encoded), except `x-http-code`, which
instead overrides the success status (the grpc-gateway idiom for answering 201).
`Grpc-Trailer-*` headers are not produced: HTTP/1.1 trailers are not available through
ASGI servers in common use.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Iterable, Sequence

from libs.transcoding._context import Metadata

logger = logging.getLogger(__name__)

_METADATA_PREFIX = b"grpc-metadata-"
_VALID_KEY = re.compile(r"[0-9a-z_.\-]+\Z")
_VALID_VALUE = re.compile(r"[\x20-\x7e]*\Z")
_TIMEOUT = re.compile(r"([0-9]{1,8})([HMSmun])\Z")
_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}
HTTP_CODE_KEY = "x-http-code"


def incoming_metadata(
    headers: Iterable[tuple[bytes, bytes]], client: Sequence[object] | None
) -> tuple[Metadata, float | None]:
    """Invocation metadata and the timeout in seconds (None: no deadline) of a request."""
    metadata: list[tuple[str, str | bytes]] = []
    forwarded_for = forwarded_host = host = ""
    timeout: float | None = None

    for raw_key, raw_value in headers:
        if raw_key == b"authorization":
            metadata.append(("authorization", raw_value.decode("latin-1")))
        elif raw_key.startswith(_METADATA_PREFIX):
            _append_metadata(metadata, raw_key[len(_METADATA_PREFIX) :], raw_value)
        elif raw_key == b"x-request-id":
            _append_metadata(metadata, raw_key, raw_value)
        elif raw_key == b"x-forwarded-for":
            forwarded_for = raw_value.decode("latin-1")
        elif raw_key == b"x-forwarded-host":
            forwarded_host = raw_value.decode("latin-1")
        elif raw_key.startswith(b"x-forwarded-"):
            _append_metadata(metadata, raw_key, raw_value)
        elif raw_key == b"host":
            host = raw_value.decode("latin-1")
        elif raw_key == b"grpc-timeout":
            timeout = parse_grpc_timeout(raw_value.decode("latin-1"))

    if forwarded_host or host:
        metadata.append(("x-forwarded-host", forwarded_host or host))
    if client:
        address = str(client[0])
        metadata.append(
            ("x-forwarded-for", f"{forwarded_for}, {address}" if forwarded_for else address)
        )
    elif forwarded_for:
        metadata.append(("x-forwarded-for", forwarded_for))
    return tuple(metadata), timeout


def _append_metadata(
    metadata: list[tuple[str, str | bytes]], raw_key: bytes, raw_value: bytes
) -> None:
    key = raw_key.decode("latin-1").lower()
    if not _VALID_KEY.match(key) or key.startswith("grpc-"):
        logger.debug("dropping header %r: not a usable gRPC metadata key", key)
        return

    if key.endswith("-bin"):
        try:
            metadata.append((key, base64.b64decode(raw_value + b"=" * (-len(raw_value) % 4))))
        except (binascii.Error, ValueError):
            logger.debug("dropping header %r: not base64", key)
        return

    value = raw_value.decode("latin-1")
    if not _VALID_VALUE.match(value):
        logger.debug("dropping header %r: value not printable ASCII", key)
        return
    metadata.append((key, value))


def parse_grpc_timeout(text: str) -> float | None:
    """Seconds from a `Grpc-Timeout` value; None (no deadline) when malformed."""
    matched = _TIMEOUT.match(text.strip())
    if matched is None:
        logger.debug("ignoring malformed Grpc-Timeout %r", text)
        return None
    return int(matched.group(1)) * _TIMEOUT_UNITS[matched.group(2)]


def outgoing_headers(
    initial_metadata: Metadata,
) -> tuple[list[tuple[bytes, bytes]], int | None]:
    """`Grpc-Metadata-*` response headers and the `x-http-code` override, if any."""
    headers: list[tuple[bytes, bytes]] = []
    status: int | None = None

    for key, value in initial_metadata:
        name = key.lower()
        if name == HTTP_CODE_KEY:
            status = _http_code(value)
            continue

        if isinstance(value, bytes):
            encoded = base64.b64encode(value)
        else:
            encoded = _header_safe(value).encode("latin-1")
        headers.append((b"grpc-metadata-" + name.encode("latin-1"), encoded))
    return headers, status


def _http_code(value: str | bytes) -> int | None:
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    if text.isdigit() and 100 <= int(text) <= 599:
        return int(text)
    logger.warning("ignoring x-http-code %r: not an HTTP status", text)
    return None


def _header_safe(text: str) -> str:
    """A header value with line breaks and non-Latin-1 characters replaced."""
    cleaned = text.replace("\r", " ").replace("\n", " ")
    return cleaned.encode("latin-1", "replace").decode("latin-1")


def header_value(text: str) -> bytes:
    """Text made safe for an HTTP header value."""
    return _header_safe(text).encode("latin-1")
