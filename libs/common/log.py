"""Structured logging shared by every process.

One line per event. On a terminal the lines are short text; elsewhere (containers, CI, files)
each line is a JSON object, so log collectors can index the fields. Request-scoped fields
(request id, user, workspace) live in context variables: the gRPC interceptor sets them once per
call and every log line in that call carries them without handlers passing them around.

Secrets never reach a log line: callers log names and ids, not payloads, and `redact` is
applied to any mapping before it is logged.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
user: contextvars.ContextVar[str | None] = contextvars.ContextVar("user", default=None)

_SECRET_WORDS = ("password", "token", "secret", "kubeconfig", "key", "authorization", "credential")
_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}


def redact(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `fields` with the value of every secret-looking key replaced."""
    return {
        key: "<redacted>" if any(word in key.lower() for word in _SECRET_WORDS) else value
        for key, value in fields.items()
    }


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object with its extra fields and the request context."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, var in (("request_id", request_id), ("user", user)):
            value = var.get()
            if value is not None:
                line[name] = value
        extra = {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS}
        line.update(redact(extra))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """A short human line: time, level, logger, message, then the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        extra = redact({k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS})
        rid = request_id.get()
        if rid:
            extra["request_id"] = rid
        tail = " ".join(f"{k}={v}" for k, v in extra.items())
        text = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<5} {record.name}: "
        text += record.getMessage() + (f" {tail}" if tail else "")
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def configure(level: str = "INFO", fmt: str = "auto") -> None:
    """Install the formatter on the root logger; `fmt` is auto, json or text."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "httpcore", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
