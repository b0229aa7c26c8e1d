"""Recording events once and applying them in the same transaction.

A batch of events (one post of event-proxy, or a single plugin post) is recorded and applied
in one transaction: the ids are inserted with `ON CONFLICT DO NOTHING`, and only the events
whose ids were new are applied, run events all together (`events.runs`), item events one by
one (they are rare). A crash before the commit leaves neither ids nor effects, and
event-proxy's retry applies the batch then; two replicas given the same event wait on the
id's index entry, and the second finds it taken.

The outcome of each applied event (a short text) is stored with its id, for whoever wonders
later what an event did.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.devops_server.events.envelope import Envelope, EventKind
from services.devops_server.events.runs import apply_run_events
from services.devops_server.events.tables import RejectedEvent

logger = logging.getLogger(__name__)

KEPT_BODY = 64 * 1024

_RECORD = text(
    "INSERT INTO jenkins_events (id, instance, type, event_time, outcome)"
    " SELECT k.id, :instance, k.type, k.event_time, ''"
    " FROM unnest(CAST(:ids AS text[]), CAST(:types AS text[]),"
    " CAST(:times AS timestamptz[])) AS k(id, type, event_time)"
    " ON CONFLICT (id) DO NOTHING RETURNING id"
)
_OUTCOMES = text(
    "UPDATE jenkins_events e SET outcome = k.outcome"
    " FROM unnest(CAST(:ids AS text[]), CAST(:outcomes AS text[])) AS k(id, outcome)"
    " WHERE e.id = k.id"
)


class Applier(Protocol):
    async def __call__(self, session: AsyncSession, event: Envelope, instance: str) -> str: ...


async def not_handled(session: AsyncSession, event: Envelope, instance: str) -> str:
    """The applier of item events when nobody handles them: recorded, nothing changes."""
    return "recorded; not applied"


class EventRecorder:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], items: Applier = not_handled
    ) -> None:
        self._sessions = sessions
        self._items = items

    async def record(self, events: Sequence[Envelope], instance: str) -> list[str | None]:
        """Apply each event once; per event, None if it was seen before (or earlier in the
        same batch), else what applying it did."""
        first: dict[str, Envelope] = {}
        for event in events:
            first.setdefault(event.id, event)
        fresh = list(first.values())
        async with self._sessions.begin() as session:
            inserted = await session.scalars(
                _RECORD,
                {
                    "instance": instance,
                    "ids": [e.id for e in fresh],
                    "types": [e.type for e in fresh],
                    "times": [e.time for e in fresh],
                },
            )
            new = set(inserted)
            fresh = [e for e in fresh if e.id in new]
            outcomes: dict[str, str] = {}
            runs = [e for e in fresh if e.kind is EventKind.RUN]
            if runs:
                applied = await apply_run_events(session, runs, instance)
                outcomes.update(zip((e.id for e in runs), applied, strict=True))
            for event in fresh:
                if event.kind is EventKind.ITEM:
                    outcomes[event.id] = await self._items(session, event, instance)
            if outcomes:
                await session.execute(
                    _OUTCOMES,
                    {"ids": list(outcomes), "outcomes": [o[:255] for o in outcomes.values()]},
                )
        return [outcomes.pop(event.id, None) for event in events]

    async def reject(self, instance: str, reason: str, body: bytes) -> None:
        """Keep a malformed envelope for inspection."""
        text_ = body[:KEPT_BODY].decode("utf-8", errors="replace").replace("\x00", "\ufffd")
        async with self._sessions.begin() as session:
            session.add(RejectedEvent(instance=instance, reason=reason[:1000], body=text_))
