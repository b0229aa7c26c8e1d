"""The domain errors every service raises, and the one table that turns them into gRPC codes.

    WorkbenchError                 INTERNAL (never shown: the caller sees a generic message)
    ├── InvalidArgument            INVALID_ARGUMENT   400
    ├── NotFound                   NOT_FOUND          404
    ├── AlreadyExists              ALREADY_EXISTS     409
    ├── Conflict                   ABORTED            409
    ├── FailedPrecondition         FAILED_PRECONDITION 400
    ├── Unauthenticated            UNAUTHENTICATED    401
    ├── PermissionDenied           PERMISSION_DENIED  403
    ├── ResourceExhausted          RESOURCE_EXHAUSTED 429
    ├── Unimplemented              UNIMPLEMENTED      501
    └── Unavailable                UNAVAILABLE        503  (a dependency: Jenkins, a cluster)

Handlers raise these; the error interceptor maps them with `grpc_code`, and the REST gateway maps
the gRPC code to HTTP as grpc-gateway does. Messages are for the caller: say what is wrong and,
where it helps, what to do. Anything that is not a `WorkbenchError` is a bug: it is logged with
its traceback and the caller gets INTERNAL with the request id only.
"""

from __future__ import annotations

import grpc


class WorkbenchError(Exception):
    """Base of every error a handler may raise on purpose."""

    code = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(WorkbenchError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(WorkbenchError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(WorkbenchError):
    code = grpc.StatusCode.ALREADY_EXISTS


class Conflict(WorkbenchError):
    code = grpc.StatusCode.ABORTED


class FailedPrecondition(WorkbenchError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Unauthenticated(WorkbenchError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(WorkbenchError):
    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(WorkbenchError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unimplemented(WorkbenchError):
    code = grpc.StatusCode.UNIMPLEMENTED


class Unavailable(WorkbenchError):
    code = grpc.StatusCode.UNAVAILABLE


def grpc_code(error: WorkbenchError) -> grpc.StatusCode:
    """The gRPC status code for a domain error."""
    return error.code


def from_grpc(code: grpc.StatusCode, message: str) -> WorkbenchError:
    """The domain error for a status a downstream service answered with (the SDK's side)."""
    for cls in _ALL:
        if cls.code == code:
            return cls(message)
    return WorkbenchError(message)


_ALL: tuple[type[WorkbenchError], ...] = (
    InvalidArgument,
    NotFound,
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    Unauthenticated,
    PermissionDenied,
    ResourceExhausted,
    Unimplemented,
    Unavailable,
)
