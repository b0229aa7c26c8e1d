"""Kubernetes `Status` failures, raised inside the stand-in and rendered once by the server.

The real API server answers every failure with a `Status` object whose `reason` and `code`
clients dispatch on (kubernetes-asyncio turns it into `ApiException(status=code)`, and callers
read `reason` from the body). Handlers therefore raise `StatusError` and one middleware turns
it into the JSON body, so a message or a reason is written in exactly one place.

The messages follow the wording of k8s.io/apimachinery `pkg/api/errors`, because people grep
logs for them and some clients match on them:

    404 NotFound             `configmaps "x" not found`
    409 AlreadyExists        `deployments.apps "x" already exists`
    409 Conflict             `Operation cannot be fulfilled on ...: the object has been modified`
    422 Invalid              `Kind.group "x" is invalid: field: Invalid value: ...`
    410 Expired              `too old resource version: 5 (9)`
    415 UnsupportedMediaType the strategic-merge patch sent to a custom resource
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The reason each HTTP code gets when a fault is injected or no better reason is known.
_REASON_BY_CODE = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@dataclass
class Cause:
    """One entry of `details.causes`: what is wrong with which field."""

    reason: str
    message: str
    field: str

    def to_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


@dataclass
class StatusError(Exception):
    """A failure that the server answers with a `Status` body and `code`."""

    code: int
    reason: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"

    def body(self) -> dict[str, Any]:
        """The `Status` object exactly as the API server serialises it."""
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            status["details"] = self.details
        return status


def qualified(resource: str, group: str) -> str:
    """`deployments.apps`, or just `configmaps` for the core group."""
    return f"{resource}.{group}" if group else resource


def _details(name: str, group: str, kind: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    return details


def not_found(resource: str, group: str, name: str) -> StatusError:
    return StatusError(
        404,
        "NotFound",
        f'{qualified(resource, group)} "{name}" not found',
        _details(name, group, resource),
    )


def path_not_found() -> StatusError:
    """A URL that names no known resource, version or group."""
    return StatusError(404, "NotFound", "the server could not find the requested resource")


def already_exists(resource: str, group: str, name: str) -> StatusError:
    return StatusError(
        409,
        "AlreadyExists",
        f'{qualified(resource, group)} "{name}" already exists',
        _details(name, group, resource),
    )


def conflict(resource: str, group: str, name: str, why: str | None = None) -> StatusError:
    why = why or (
        "the object has been modified; please apply your changes to the latest version "
        "and try again"
    )
    return StatusError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {why}',
        _details(name, group, resource),
    )


def invalid(kind: str, group: str, name: str, causes: list[Cause]) -> StatusError:
    """422 with one cause per field, summarised in the message as the server does."""
    summary = "; ".join(f"{c.field}: {c.message}" for c in causes)
    if len(causes) > 1:
        summary = f"[{', '.join(f'{c.field}: {c.message}' for c in causes)}]"
    details = _details(name, group, kind)
    details["causes"] = [c.to_dict() for c in causes]
    return StatusError(
        422, "Invalid", f'{qualified(kind, group)} "{name}" is invalid: {summary}', details
    )


def field_error(
    kind: str, group: str, name: str, field: str, message: str, reason: str = "FieldValueInvalid"
) -> StatusError:
    """422 Invalid with a single cause."""
    return invalid(kind, group, name, [Cause(reason, message, field)])


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def gone(message: str) -> StatusError:
    return StatusError(410, "Expired", message)


def unsupported_media_type(content_type: str, accepted: list[str]) -> StatusError:
    return StatusError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{', '.join(accepted)}",
    )


def method_not_allowed(verb: str, resource: str, group: str) -> StatusError:
    return StatusError(
        405,
        "MethodNotAllowed",
        f'{verb} is not supported on resources of kind "{qualified(resource, group)}"',
    )


def forbidden(message: str) -> StatusError:
    return StatusError(403, "Forbidden", message)


def unauthorized() -> StatusError:
    return StatusError(401, "Unauthorized", "Unauthorized")


def injected(code: int) -> StatusError:
    """A fault a test asked for: the usual reason for the code and a message that says so."""
    reason = _REASON_BY_CODE.get(code, "Unknown")
    return StatusError(code, reason, f"injected fault: {reason}")
