"""The Generic Event plugin's envelope, read strictly.

The plugin posts one JSON object per event: `id` (a UUID), `type` (one of nine names),
`source` and `url` (paths relative to the Jenkins root), `time` in the plugin's own format
(`2022-02-06T13:48:15.041+0800`: milliseconds and an offset without a colon), `dataType`
(the Java class of the object), `data` (the object's REST model) and `metaData` (only for
`item.locationChanged`). Anything else is a malformed envelope: a 400 that names the field,
and the body is kept for inspection.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

RUN_EVENTS = frozenset(
    {"run.initialize", "run.started", "run.completed", "run.finalized", "run.deleted"}
)
ITEM_EVENTS = frozenset({"item.created", "item.updated", "item.deleted", "item.locationChanged"})
MAX_ID_LENGTH = 128


class EventKind(enum.Enum):
    RUN = "run"
    ITEM = "item"


class MalformedEnvelope(ValueError):
    """The body is not an envelope of the plugin's shape; the message names what is wrong."""


class Envelope(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    type: str
    source: str = ""
    url: str = ""
    time: datetime | None = None
    data_type: str = Field(default="", alias="dataType")
    data: dict[str, Any] = Field(default_factory=dict)
    meta_data: dict[str, Any] | None = Field(default=None, alias="metaData")

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in RUN_EVENTS | ITEM_EVENTS:
            raise ValueError(f"unknown event type {value[:40]!r}")
        return value

    @field_validator("time", mode="before")
    @classmethod
    def _plugin_time(cls, value: Any) -> Any:
        """Accept the plugin's `+0800` offsets as well as RFC 3339 ones."""
        if isinstance(value, str) and value:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                return value  # for pydantic to say what is wrong with it
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return value or None

    @property
    def kind(self) -> EventKind:
        return EventKind.RUN if self.type in RUN_EVENTS else EventKind.ITEM

    @property
    def subject(self) -> str:
        """What the event is about, for ordering: the build of a run event (its job and
        number), the item of an item event (its full name, else its URL)."""
        if self.kind is EventKind.RUN:
            return f"run {self.source or self.url}#{self.data.get('number')}"
        return f"item {self.data.get('fullName') or self.url or self.source}"


def parse(body: Any) -> Envelope:
    """The envelope in a decoded JSON body, or MalformedEnvelope naming the first problem."""
    if not isinstance(body, dict):
        raise MalformedEnvelope("the body must be a JSON object (a Generic Event envelope)")
    try:
        return Envelope.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise MalformedEnvelope(f"{where}: {first['msg']}") from None
