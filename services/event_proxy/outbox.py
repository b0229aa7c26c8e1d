"""The outbox: every accepted event, on disk, until devops-server has it.

Storage is one SQLite database (`outbox.db`) in WAL mode with `synchronous=FULL`, so a
committed transaction has been fsynced to the write-ahead log: an event whose POST was
answered 200 survives a crash of the process or of the machine. Three tables:

- `events`: the pending events, in arrival order (`seq`, AUTOINCREMENT so a sequence number
  is never reused, which lets the forwarder page through the table with a cursor);
- `delivered`: the ids of delivered events, kept `dedupe_seconds` so a client that posts an
  event again after delivery does not get it delivered twice;
- `dead_letters`: events that devops-server refused (a 4xx it will never accept), with the
  status and reason, for an operator to read.

An event id is stored once: a second post with the id of a pending, delivered or dead event
is answered like the first and stored nowhere.

Threads and batching. The connection belongs to one worker thread (a single-thread
executor), so SQLite calls never block the event loop and never race. Writes go through
group commit: appends and settlements (delivered, dead) queue up in memory while the
previous transaction is being written, then all of them are committed in the next single
transaction and one fsync. An append's future resolves only after its transaction commits;
that is the moment the HTTP handler may answer 200. Settlements need no waiting: if one is
lost in a crash the event is delivered again, and devops-server applies events idempotently.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    ordering_key TEXT NOT NULL,
    event_type_header TEXT NOT NULL,
    referrer TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body BLOB NOT NULL,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS delivered (
    event_id TEXT PRIMARY KEY,
    delivered_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS delivered_by_time ON delivered (delivered_at);
CREATE TABLE IF NOT EXISTS dead_letters (
    event_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    ordering_key TEXT NOT NULL,
    event_type_header TEXT NOT NULL,
    referrer TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body BLOB NOT NULL,
    received_at REAL NOT NULL,
    failed_at REAL NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL
);
"""

_INSERT = """
INSERT INTO events (event_id, type, ordering_key, event_type_header, referrer, content_type,
                    body, received_at)
SELECT ?, ?, ?, ?, ?, ?, ?, ?
WHERE NOT EXISTS (SELECT 1 FROM delivered WHERE event_id = ?)
  AND NOT EXISTS (SELECT 1 FROM dead_letters WHERE event_id = ?)
ON CONFLICT (event_id) DO NOTHING
"""

_BURY = """
INSERT OR REPLACE INTO dead_letters
SELECT event_id, type, ordering_key, event_type_header, referrer, content_type, body,
       received_at, ?, ?, ?
FROM events WHERE seq = ?
"""

_COLUMNS = (
    "seq, event_id, type, ordering_key, event_type_header, referrer, content_type, body, "
    "received_at"
)


class OutboxError(Exception):
    """The outbox could not store an event (disk full, database unreadable, closed)."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An accepted event, as the HTTP handler hands it to the outbox."""

    id: str
    type: str
    key: str
    event_type_header: str
    referrer: str
    content_type: str
    body: bytes
    received_at: float


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A pending event read back from the outbox; `seq` is its place in arrival order."""

    seq: int
    id: str
    type: str
    key: str
    event_type_header: str
    referrer: str
    content_type: str
    body: bytes
    received_at: float


@dataclass(frozen=True, slots=True)
class DeadLetter:
    seq: int
    status: int
    reason: str


class _Database:
    """The SQLite side; every method runs on the outbox's one worker thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def count(self) -> int:
        row = self._db.execute("SELECT count(*) FROM events").fetchone()
        return int(row[0])

    def load(self, after_seq: int, limit: int) -> list[StoredEvent]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        ).fetchall()
        return [StoredEvent(*row) for row in rows]

    def dead_letters(self) -> list[tuple[str, str, int, str]]:
        return self._db.execute(
            "SELECT event_id, type, status, reason FROM dead_letters ORDER BY failed_at"
        ).fetchall()

    def commit(
        self,
        new: Sequence[NewEvent],
        delivered: Sequence[StoredEvent],
        dead: Sequence[DeadLetter],
        now: float,
        forget_before: float | None,
    ) -> list[bool]:
        """Store `new`, settle `delivered` and `dead`, in one transaction; which were new."""
        stored: list[bool] = []
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for event in new:
                cursor = self._db.execute(
                    _INSERT,
                    (
                        event.id,
                        event.type,
                        event.key,
                        event.event_type_header,
                        event.referrer,
                        event.content_type,
                        event.body,
                        event.received_at,
                        event.id,
                        event.id,
                    ),
                )
                stored.append(cursor.rowcount == 1)

            for letter in dead:
                self._db.execute(_BURY, (now, letter.status, letter.reason, letter.seq))
            self._db.executemany(
                "INSERT OR IGNORE INTO delivered (event_id, delivered_at) VALUES (?, ?)",
                [(event.id, now) for event in delivered],
            )
            self._db.executemany(
                "DELETE FROM events WHERE seq = ?",
                [(event.seq,) for event in delivered] + [(letter.seq,) for letter in dead],
            )
            if forget_before is not None:
                self._db.execute("DELETE FROM delivered WHERE delivered_at < ?", (forget_before,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return stored

    def close(self) -> None:
        self._db.close()


@dataclass(slots=True)
class _Append:
    event: NewEvent
    done: asyncio.Future[bool]


class Outbox:
    """The asynchronous face of the outbox: append, load, settle, with group commit."""

    def __init__(self, directory: Path, *, dedupe_seconds: float = 3600.0) -> None:
        self.path = directory / "outbox.db"
        self._dedupe_seconds = dedupe_seconds
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self._db: _Database | None = None
        self._appends: list[_Append] = []
        self._delivered: list[StoredEvent] = []
        self._dead: list[DeadLetter] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._writer: asyncio.Task[None] | None = None
        self._last_forget = 0.0
        self.depth = 0
        """Events stored and not yet settled (the number of rows in `events`)."""
        self.changed = asyncio.Event()
        """Set whenever a transaction stored new events."""

    async def open(self) -> None:
        self._db = await self._run(_Database, self.path)
        self.depth = await self._run(self._database().count)
        self._writer = asyncio.create_task(self._write_forever(), name="outbox-writer")
        logger.info("outbox %s open with %d pending events", self.path, self.depth)

    async def close(self) -> None:
        """Commit what is queued, then close the database."""
        if self._writer is not None:
            self._closing = True
            self._wake.set()
            await self._writer
            self._writer = None
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._executor.shutdown(wait=True)

    @property
    def healthy(self) -> bool:
        return self._writer is not None and not self._writer.done()

    async def append(self, event: NewEvent) -> bool:
        """Store `event` durably; False if its id was already known (nothing stored)."""
        if self._closing or self._writer is None:
            raise OutboxError("the outbox is closed")
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._appends.append(_Append(event, done))
        self._wake.set()
        return await done

    def settle_delivered(self, event: StoredEvent) -> None:
        """Forget `event`: devops-server has it. Committed with the next batch."""
        self._delivered.append(event)
        self._wake.set()

    def settle_dead(self, event: StoredEvent, *, status: int, reason: str) -> None:
        """Move `event` to the dead letters. Committed with the next batch."""
        self._dead.append(DeadLetter(event.seq, status, reason))
        self._wake.set()

    async def load(self, after_seq: int, limit: int) -> list[StoredEvent]:
        """Up to `limit` pending events with a sequence number above `after_seq`, in order."""
        return await self._run(self._database().load, after_seq, limit)

    async def dead_letters(self) -> list[tuple[str, str, int, str]]:
        """(id, type, status, reason) of every dead letter, oldest first."""
        return await self._run(self._database().dead_letters)

    async def _write_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._commit_queued()
            if self._closing and not (self._appends or self._delivered or self._dead):
                return

    async def _commit_queued(self) -> None:
        appends, self._appends = self._appends, []
        delivered, self._delivered = self._delivered, []
        dead, self._dead = self._dead, []
        now = time.time()
        forget_before: float | None = None
        if now - self._last_forget > 60:
            forget_before = now - self._dedupe_seconds
        if not (appends or delivered or dead or forget_before is not None):
            return

        try:
            stored = await self._run(
                self._database().commit,
                [append.event for append in appends],
                delivered,
                dead,
                now,
                forget_before,
            )
        except Exception as exc:  # disk full, I/O error, or a bug: fail the posts, keep running
            logger.exception("outbox commit of %d events failed", len(appends))
            for append in appends:
                if not append.done.done():
                    append.done.set_exception(OutboxError(str(exc)))
            if self._closing:
                return  # unsettled events stay pending and are delivered again after a restart
            # Settlements are kept for the next attempt; the events stay pending meanwhile.
            self._delivered[:0] = delivered
            self._dead[:0] = dead
            await asyncio.sleep(0.5)
            self._wake.set()
            return

        if forget_before is not None:
            self._last_forget = now
        for append, new in zip(appends, stored, strict=True):
            if not append.done.done():
                append.done.set_result(new)
        added = sum(stored)
        self.depth += added - len(delivered) - len(dead)
        if added:
            self.changed.set()

    def _database(self) -> _Database:
        if self._db is None:
            raise OutboxError("the outbox is not open")
        return self._db

    async def _run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)
