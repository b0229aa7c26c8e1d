"""What event-proxy reads from a Generic Event envelope, and the key that orders it.

The body is forwarded byte for byte; the proxy only looks inside it for three things: the
event `id` (duplicates are stored once), the `type` (metrics, and the `X-Event-Type` header
when the poster left it out) and the ordering key.

Ordering key: events with the same key are delivered in the order they arrived and never
overtake each other; events with different keys may go in parallel.

- Run events (`run.*`) are keyed by the run: the job's URL (`source`, e.g. `job/ws/job/p/`)
  and the run's `data.id` (or `data.number`). Without those, the run's own `url`.
- Item events (`item.*`) are keyed by the item: `data.fullName`, else its `url`, else
  `source` + `data.name`. A rename (`item.locationChanged`) carries the new name, so it is
  not ordered against earlier events under the old name; devops-server resyncs items anyway.
- An envelope with none of these stands alone, keyed by its id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NoReturn


class InvalidEvent(ValueError):
    """The body is not an event envelope; the message says what is wrong with it."""


@dataclass(frozen=True, slots=True)
class Envelope:
    id: str
    type: str
    key: str


def parse(body: bytes) -> Envelope:
    """The envelope's id, type and ordering key, or `InvalidEvent`."""
    try:
        event = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise InvalidEvent("body is not UTF-8 text") from exc
    except (ValueError, RecursionError) as exc:
        raise InvalidEvent(f"body is not valid JSON: {exc}") from exc

    if not isinstance(event, dict):
        raise InvalidEvent(f"body must be a JSON object, not {type(event).__name__}")
    for field in ("id", "type"):
        value = event.get(field)
        if not isinstance(value, str) or not value:
            raise InvalidEvent(f"field {field!r} must be a non-empty string")
    return Envelope(id=event["id"], type=event["type"], key=ordering_key(event))


def ordering_key(event: dict[str, Any]) -> str:
    """The key under which `event` is ordered (see the module docstring)."""
    data = event.get("data")
    if not isinstance(data, dict):
        data = {}
    source = _text(event.get("source"))
    url = _text(event.get("url"))

    if event["type"].startswith("run."):
        run = _text(data.get("id")) or _text(data.get("number"))
        if run:
            parent = (
                source or f"{_text(data.get('_parentFullName'))}/{_text(data.get('_projectName'))}"
            )
            return f"run {parent}#{run}"
        if url:
            return f"run {url}"

    if event["type"].startswith("item."):
        full_name = _text(data.get("fullName"))
        if full_name:
            return f"item {full_name}"
        if url:
            return f"item {url}"
        name = _text(data.get("name"))
        if name:
            return f"item {source}{name}"

    return f"event {event['id']}"


def _text(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, str | int):
        return str(value)
    return ""


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")
