"""Recording events once and applying them in the same transaction.

An applier turns one event into its effect on the database (a run moves on, drift is noted)
and returns a short outcome for the record. It runs inside the transaction that records the
event id, so a crash between the two leaves neither, and event-proxy's retry applies it then.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.devops_server.events.envelope import Envelope, EventKind
from services.devops_server.events.tables import JenkinsEvent, RejectedEvent

logger = logging.getLogger(__name__)

KEPT_BODY = 64 * 1024


class Applier(Protocol):
    async def __call__(self, session: AsyncSession, event: Envelope, instance: str) -> str: ...


async def not_handled(session: AsyncSession, event: Envelope, instance: str) -> str:
    """The applier of event kinds nobody handles yet: recorded, nothing changes."""
    return "recorded; not applied"


class EventRecorder:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        appliers: dict[EventKind, Applier] | None = None,
    ) -> None:
        self._sessions = sessions
        self.appliers: dict[EventKind, Applier] = dict(appliers or {})

    async def record(self, event: Envelope, instance: str) -> str | None:
        """Apply `event` once; None if it was seen before, else the applier's outcome."""
        async with self._sessions.begin() as session:
            inserted = await session.scalar(
                insert(JenkinsEvent)
                .values(id=event.id, instance=instance, type=event.type, event_time=event.time)
                .on_conflict_do_nothing(index_elements=[JenkinsEvent.id])
                .returning(JenkinsEvent.id)
            )
            if inserted is None:
                return None
            applier = self.appliers.get(event.kind, not_handled)
            outcome = await applier(session, event, instance)
            await session.execute(
                update(JenkinsEvent)
                .where(JenkinsEvent.id == event.id)
                .values(outcome=outcome[:255])
            )
        return outcome

    async def reject(self, instance: str, reason: str, body: bytes) -> None:
        """Keep a malformed envelope for inspection."""
        text = body[:KEPT_BODY].decode("utf-8", errors="replace").replace("\x00", "\ufffd")
        async with self._sessions.begin() as session:
            session.add(RejectedEvent(instance=instance, reason=reason[:1000], body=text))

    async def seen(self, event_id: str) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(select(JenkinsEvent.id).where(JenkinsEvent.id == event_id))
        return found is not None
