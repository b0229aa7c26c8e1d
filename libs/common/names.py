"""What a valid name looks like, for every kind of name the API accepts.

Names become Jenkins folder and job names, Kubernetes object names and URL path segments, so
they are checked once, at the edge, with messages that say which field is wrong and why:
no slashes, no `..`, no control characters, bounded length.
"""

from __future__ import annotations

import re

from libs.common.errors import InvalidArgument

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ALIAS = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_USERNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._@+-]*[A-Za-z0-9])?$")

ROLES = ("workspace-admin", "workspace-editor", "workspace-viewer")


def _check(field: str, value: str, pattern: re.Pattern[str], limit: int, rule: str) -> str:
    if not value:
        raise InvalidArgument(f"{field}: must not be empty")
    if len(value) > limit:
        raise InvalidArgument(f"{field}: must be at most {limit} characters, got {len(value)}")
    if not pattern.fullmatch(value):
        raise InvalidArgument(f"{field}: {value[:80]!r} is not valid: {rule}")
    return value


def dns_label(field: str, value: str) -> str:
    """A Kubernetes DNS label: cluster and namespace names."""
    return _check(
        field,
        value,
        _DNS_LABEL,
        63,
        "use lower-case letters, digits and '-', starting and ending with a letter or digit",
    )


def alias(field: str, value: str) -> str:
    """A display name such as a workspace alias."""
    return _check(
        field,
        value,
        _ALIAS,
        63,
        "use letters, digits, '.', '_' and '-', starting and ending with a letter or digit",
    )


def username(field: str, value: str) -> str:
    return _check(field, value, _USERNAME, 253, "use letters, digits, '.', '_', '@', '+' and '-'")


def role(field: str, value: str) -> str:
    if value not in ROLES:
        raise InvalidArgument(f"{field}: must be one of {', '.join(ROLES)}, got {value[:40]!r}")
    return value


def workspace_id(field: str, value: str | int) -> int:
    """A workspace id from a path segment or a number."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidArgument(
            f"{field}: must be a positive integer, got {str(value)[:40]!r}"
        ) from None
    if number <= 0 or number > 2**31 - 1:
        raise InvalidArgument(f"{field}: must be a positive 32-bit integer, got {number}")
    return number


def positive_id(field: str, value: int) -> int:
    """A numeric id the store keeps in a 32-bit column: a run's number, a node or step id."""
    if value <= 0 or value > 2**31 - 1:
        raise InvalidArgument(f"{field}: must be a positive 32-bit integer, got {value}")
    return value
