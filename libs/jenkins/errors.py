"""What can go wrong talking to Jenkins, and the one place HTTP outcomes become errors.

    JenkinsError (WorkbenchError)          anything else Jenkins refused (500, odd 4xx)
    ├── JenkinsUnreachable (Unavailable)   connect errors, timeouts, 502/503/504
    ├── JenkinsUnauthorized (Unavailable)  401/403 after the crumb retry
    ├── JenkinsNotFound (NotFound)         404: no such item, run, queue item, credential
    ├── JenkinsConflict (Conflict)         409, or 400 "already exists"
    └── JenkinsBadRequest (InvalidArgument) other 400: Jenkins refused the input (XML, YAML)

Each class also derives from the matching `libs.common.errors` class, so the gRPC error table
maps it without knowing about Jenkins. Note the choice for 401/403: Workbench talks to Jenkins
with its own service credentials, so a refusal means Workbench is misconfigured; the end user
cannot fix that, hence UNAVAILABLE and not UNAUTHENTICATED/PERMISSION_DENIED.

`translate` is the only function that turns an HTTP outcome (an `httpx` transport error or
an unsuccessful response) into one of these; the client raises what it returns with the
original error chained as `__cause__`. The client raises a few by hand for answers that are
well-formed HTTP but make no sense (JSON expected and not sent, no queue item in `Location`).
Messages name the method and path: never the query string (it may carry build parameters),
never the credentials.
"""

from __future__ import annotations

import httpx

from libs.common.errors import (
    Conflict,
    InvalidArgument,
    NotFound,
    Unavailable,
    WorkbenchError,
)

__all__ = [
    "JenkinsBadRequest",
    "JenkinsConflict",
    "JenkinsError",
    "JenkinsNotFound",
    "JenkinsUnauthorized",
    "JenkinsUnreachable",
    "translate",
]


class JenkinsError(WorkbenchError):
    """Base of every error the Jenkins client raises; `status` is the HTTP status, if any."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class JenkinsUnreachable(JenkinsError, Unavailable):
    """Jenkins did not answer, answered too late, or a proxy in front of it failed."""


class JenkinsUnauthorized(JenkinsError, Unavailable):
    """Jenkins refused Workbench's user and API token."""


class JenkinsNotFound(JenkinsError, NotFound):
    """The item, run, queue item or credential does not exist."""


class JenkinsConflict(JenkinsError, Conflict):
    """The thing already exists, or its state forbids the action (e.g. building a disabled job)."""


class JenkinsBadRequest(JenkinsError, InvalidArgument):
    """Jenkins refused what was sent (a config.xml, a CasC document, a name)."""


# Status -> error class; anything unlisted at 400 or above is a plain JenkinsError.
_BY_STATUS: dict[int, type[JenkinsError]] = {
    400: JenkinsBadRequest,
    401: JenkinsUnauthorized,
    403: JenkinsUnauthorized,
    404: JenkinsNotFound,
    409: JenkinsConflict,
    502: JenkinsUnreachable,
    503: JenkinsUnreachable,
    504: JenkinsUnreachable,
}

# Transport errors that mean "Jenkins (or the way to it) is down"; any other httpx error
# (a decoding error, an unsupported protocol, ...) is a plain JenkinsError: retrying won't help.
_UNREACHABLE: tuple[type[httpx.HTTPError], ...] = (
    httpx.NetworkError,
    httpx.TimeoutException,
    httpx.ProxyError,
    httpx.RemoteProtocolError,
)

_DETAIL_LIMIT = 200


def translate(method: str, path: str, outcome: httpx.Response | httpx.HTTPError) -> JenkinsError:
    """The Jenkins error for a failed request (raise it `from` the httpx error)."""
    where = f"{method} /{path.lstrip('/')}"

    if isinstance(outcome, httpx.TimeoutException):
        return JenkinsUnreachable(f"Jenkins did not answer {where} in time; is it overloaded?")

    if isinstance(outcome, httpx.HTTPError):
        kind = type(outcome).__name__
        if isinstance(outcome, _UNREACHABLE):
            return JenkinsUnreachable(f"cannot reach Jenkins for {where} ({kind}); is it running?")
        return JenkinsError(f"talking to Jenkins failed for {where} ({kind})")

    status = outcome.status_code
    detail = _detail(outcome)
    cls = _BY_STATUS.get(status, JenkinsError)
    if status == 400 and "already exists" in detail.lower():
        cls = JenkinsConflict
    message = f"Jenkins answered {status} to {where}"
    if cls is JenkinsUnauthorized:
        message += ": check the Jenkins user and API token Workbench is configured with"
    elif detail:
        message += f": {detail}"
    return cls(message, status=status)


def _detail(response: httpx.Response) -> str:
    """Jenkins's own reason: the `X-Error` header, or a short plain-text body."""
    header = response.headers.get("X-Error")
    if header:
        return str(header)[:_DETAIL_LIMIT]
    content_type = response.headers.get("Content-Type", "")
    if content_type.startswith(("text/plain", "application/json")):
        return response.text.strip()[:_DETAIL_LIMIT]
    return ""
