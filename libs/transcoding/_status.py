"""gRPC status on the HTTP side: one table, one exception, one error body.

Every failure the REST client can see is a gRPC status. The gateway raises `GatewayError`
for what it detects itself (routing, bad input), handlers raise through
`context.abort(...)` or `context.set_code(...)`, and both end in `error_response`, which
draws the HTTP status from this one table (grpc-gateway v2 `runtime.HTTPStatusFromCode`,
the same as the comments of `google/rpc/code.proto`)::

    OK                  200        NOT_FOUND          404        UNIMPLEMENTED   501
    CANCELLED           499        ALREADY_EXISTS     409        INTERNAL        500
    UNKNOWN             500        PERMISSION_DENIED  403        UNAVAILABLE     503
    INVALID_ARGUMENT    400        RESOURCE_EXHAUSTED 429        DATA_LOSS       500
    DEADLINE_EXCEEDED   504        FAILED_PRECONDITION 400 (not 412, on purpose upstream)
    UNAUTHENTICATED     401 (+ WWW-Authenticate: <message>)
    ABORTED             409        OUT_OF_RANGE       400        anything else   500

The body is `google.rpc.Status` in proto3 JSON, `{"code": 3, "message": "...", "details": []}`;
`details` is always present (grpc-gateway's default marshaller emits unpopulated fields) and
holds the `Any` list a handler put in `grpc-status-details-bin` trailing metadata. If those
details cannot be rendered (an `Any` whose type is not in the descriptor pool) the body falls
back, like grpc-gateway, to `{"code": 13, "message": "failed to marshal error message"}`
with HTTP 500.

Exceptions::

    Exception
     └── GatewayError      a gRPC status travelling to the HTTP client (code, message, details)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf import any_pb2, json_format
from google.rpc import status_pb2

logger = logging.getLogger(__name__)

GRPC_DETAILS_METADATA_KEY = "grpc-status-details-bin"

HTTP_STATUS_FROM_CODE: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}

_MARSHAL_FALLBACK = b'{"code":13,"message":"failed to marshal error message","details":[]}'


def http_status_from_code(code: grpc.StatusCode) -> int:
    """The HTTP status grpc-gateway answers with for a gRPC code (500 when unknown)."""
    return HTTP_STATUS_FROM_CODE.get(code, 500)


class GatewayError(Exception):
    """A non-OK gRPC status on its way to the HTTP client."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        details: Sequence[any_pb2.Any] = (),
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = tuple(details)
        self.http_status = http_status if http_status is not None else http_status_from_code(code)

    def __repr__(self) -> str:
        return f"GatewayError({self.code.name}, {self.message!r})"


def invalid_argument(message: str) -> GatewayError:
    """The 400 the gateway answers for input it refuses before any handler runs."""
    return GatewayError(grpc.StatusCode.INVALID_ARGUMENT, message)


def details_from_trailing_metadata(
    trailing_metadata: Sequence[tuple[str, str | bytes]],
) -> tuple[any_pb2.Any, ...]:
    """The `Any` details a handler attached as `grpc-status-details-bin`, if any."""
    for key, value in trailing_metadata:
        if key != GRPC_DETAILS_METADATA_KEY:
            continue

        raw = value if isinstance(value, bytes) else value.encode("latin-1")
        status = status_pb2.Status()
        try:
            status.ParseFromString(raw)
        except Exception:  # a malformed details blob must not hide the status itself
            logger.warning("ignoring unparsable %s trailing metadata", GRPC_DETAILS_METADATA_KEY)
            return ()
        return tuple(status.details)
    return ()


def status_dict(error: GatewayError) -> dict[str, Any]:
    """`google.rpc.Status` of an error as a proto3 JSON object (raises on unknown Any types)."""
    details = [json_format.MessageToDict(item) for item in error.details]
    return {"code": error.code.value[0], "message": error.message, "details": details}


def error_body(error: GatewayError) -> tuple[int, bytes]:
    """HTTP status and JSON body for an error, with grpc-gateway's marshalling fallback."""
    try:
        payload = status_dict(error)
    except Exception:
        logger.exception("cannot marshal the details of a %s status", error.code.name)
        return 500, _MARSHAL_FALLBACK
    return error.http_status, dump_json(payload)


def dump_json(payload: Any) -> bytes:
    """Compact UTF-8 JSON, the one encoder of every body the gateway writes."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
