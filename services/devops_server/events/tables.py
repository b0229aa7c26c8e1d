"""What devops-server remembers of Jenkins events.

`jenkins_events` holds the id of every event applied, so a repeat (event-proxy delivers at
least once) is acknowledged and ignored; the row is written in the same transaction as the
event's effect, so an event is applied exactly once or not at all. `rejected_events` keeps
malformed envelopes for inspection, their body cut to 64 KiB.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.devops_server.store.tables import Base, _now


class JenkinsEvent(Base):
    __tablename__ = "jenkins_events"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    instance: Mapped[str] = mapped_column(String(63), nullable=False)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    event_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    received_at: Mapped[datetime] = _now()
    outcome: Mapped[str] = mapped_column(String(255), nullable=False, default="")

    __table_args__ = (Index("ix_jenkins_events_received_at", "received_at"),)


class RejectedEvent(Base):
    __tablename__ = "rejected_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    instance: Mapped[str] = mapped_column(String(63), nullable=False, default="")
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    received_at: Mapped[datetime] = _now()
