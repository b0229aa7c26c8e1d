"""Following runs without polling: a fan-out of run changes, woken by PostgreSQL LISTEN/NOTIFY.

Decisions:
- One LISTEN connection per devops-server process on `run_changes` (migration 0006: every new
  run, every change of `state`, `updated_at` or `duration_ms`, payload
  `<workspace_id>:<run id>`). A notification only wakes the watchers of that workspace; each
  re-reads its runs from the database and sends what differs from what it sent last, so a lost
  notification or a reconnect costs latency, never a change. A slow poll (`poll_seconds`)
  wakes every watcher as a back-up.
- What a watcher sends is decided by comparing `(state, updated_at, duration_ms)` with what it
  sent last, per run: repeated notifications send nothing twice.
- A workspace's (or pipeline's) watch reads its unfinished runs, the runs it follows that have
  not been seen final yet, and every run newer than the newest it has seen, so a run that
  is asked for and ends between two reads is still sent (its final state).
- A single run's console log is read through the same code as `GetRunLog` (byte offsets),
  polled every `log_seconds` only while the run is unfinished; once the run is final the rest
  of the log is read once and the stream ends.
- `watchers` counts the open watches of this process, so a caller that goes away can be seen
  to free its watcher (the generator's `finally`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.background import cancel_and_wait
from services.devops_server.ci import states
from services.devops_server.store.tables import Pipeline, Run

logger = logging.getLogger(__name__)

CHANNEL = "run_changes"


class RunFeed:
    """Wakes the watchers of a workspace when one of its runs changes."""

    def __init__(self, dsn: str, *, poll_seconds: float = 5.0) -> None:
        self._dsn = dsn
        self.poll_seconds = poll_seconds
        self._wakeups: dict[int, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None
        self.watchers = 0
        self.listening = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="run-changes-listen")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)

    def wakeup(self, workspace_id: int) -> asyncio.Event:
        """The event set on the next change in the workspace (take it before reading)."""
        event = self._wakeups.get(workspace_id)
        if event is None:
            event = self._wakeups[workspace_id] = asyncio.Event()
        return event

    def _wake(self, workspace_id: int) -> None:
        event = self._wakeups.pop(workspace_id, None)
        if event is not None:
            event.set()

    def _wake_all(self) -> None:
        events, self._wakeups = self._wakeups, {}
        for event in events.values():
            event.set()

    def _notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        workspace, _, _ = payload.partition(":")
        if workspace.isdigit():
            self._wake(int(workspace))
        else:
            self._wake_all()

    async def _listen(self) -> None:
        while True:
            try:
                connection = await asyncpg.connect(self._dsn)
                try:
                    await connection.add_listener(CHANNEL, self._notify)
                    self.listening.set()
                    self._wake_all()
                    while not connection.is_closed():
                        await asyncio.sleep(self.poll_seconds)
                        self._wake_all()
                finally:
                    self.listening.clear()
                    await connection.close()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("run changes LISTEN connection lost; reconnecting", exc_info=True)
                await asyncio.sleep(1)

    async def wait(self, event: asyncio.Event, seconds: float) -> None:
        """Until `event` is set or `seconds` have passed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await event.wait()


@dataclass
class Change:
    """A run as a watcher sends it: its pipeline's name, the row, and its log's growth."""

    name: str
    run: Any
    log_size: int = 0
    log_chunk: str = ""


def _key(run: Any) -> tuple[str, Any, int]:
    return (run.state, run.updated_at, run.duration_ms)


# Reads the log of run `seq` of pipeline `name` from a byte offset: (text, new offset, whether
# that was all of it for now).
LogReader = Callable[[str, int, int], Awaitable[tuple[str, int, bool]]]


class RunWatch:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        feed: RunFeed,
        *,
        log_seconds: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self.feed = feed
        self.log_seconds = log_seconds

    async def _rows(
        self, workspace_id: int, pipeline: str, tracked: set[int], newer_than: int
    ) -> list[tuple[str, Any]]:
        conditions = [Run.state.in_(states.UNFINISHED), Run.id > newer_than]
        if tracked:
            conditions.append(Run.id.in_(tracked))
        query = (
            select(Pipeline.name, Run)
            .join(Run, Run.pipeline_id == Pipeline.id)
            .where(Run.workspace_id == workspace_id, or_(*conditions))
            .order_by(Run.id)
        )
        if pipeline:
            query = query.where(Pipeline.name == pipeline)
        async with self._sessions() as session:
            return [(name, run) for name, run in (await session.execute(query)).all()]

    async def _newest(self, workspace_id: int) -> int:
        async with self._sessions() as session:
            newest = await session.scalar(
                select(Run.id).where(Run.workspace_id == workspace_id).order_by(Run.id.desc())
            )
        return int(newest or 0)

    async def follow_many(self, workspace_id: int, pipeline: str) -> AsyncGenerator[Change, None]:
        """The workspace's (or pipeline's) unfinished runs, then every change, for ever."""
        self.feed.watchers += 1
        try:
            sent: dict[int, tuple[str, Any, int]] = {}
            newest = await self._newest(workspace_id)
            while True:
                wakeup = self.feed.wakeup(workspace_id)
                tracked = {i for i, key in sent.items() if key[0] in states.UNFINISHED}
                for name, run in await self._rows(workspace_id, pipeline, tracked, newest):
                    newest = max(newest, run.id)
                    if sent.get(run.id) != _key(run):
                        sent[run.id] = _key(run)
                        yield Change(name, run)
                # Forget finished runs: they never change again.
                sent = {i: key for i, key in sent.items() if key[0] in states.UNFINISHED}
                await self.feed.wait(wakeup, self.feed.poll_seconds)
        finally:
            self.feed.watchers -= 1

    async def follow_one(
        self, workspace_id: int, name: str, run_id: int, log: LogReader | None
    ) -> AsyncGenerator[Change, None]:
        """One run (the row's id `run_id`) until it is final and its log fully sent."""
        self.feed.watchers += 1
        try:
            sent: tuple[str, Any, int] | None = None
            offset = 0
            while True:
                wakeup = self.feed.wakeup(workspace_id)
                async with self._sessions() as session:
                    run = await session.get(Run, run_id)
                if run is None:  # deleted with its pipeline
                    return
                final = states.is_final(run.state)
                chunk, complete = "", True
                if log is not None:
                    chunk, offset, complete = await log(name, run.seq, offset)
                if sent != _key(run) or chunk:
                    sent = _key(run)
                    yield Change(name, run, offset, chunk)
                if not complete:
                    continue
                if final:
                    return
                pause = self.log_seconds if log is not None else self.feed.poll_seconds
                await self.feed.wait(wakeup, pause)
        finally:
            self.feed.watchers -= 1
