"""Forwarding: from the outbox to devops-server, in order per run, retried until it lands.

Flow. A feeder pages pending events out of the outbox in arrival order (a cursor on `seq`)
into a window held in memory (at most `window` events; the rest wait on disk, so an outage of
any length costs disk, not memory). Each event joins the queue of its ordering key (one run,
or one item; see `envelope`). A key with events is handed to one of `concurrency` workers at
a time, which POSTs the key's first event; only when that event is settled does the key's
next event become deliverable. So events of one run never overtake each other, and runs go
in parallel: a slow or failing run holds back its own events, not the others'.

Outcome of one attempt, by what devops-server answered:

- 2xx: delivered; the event leaves the outbox.
- 4xx other than 401, 403, 408 and 429: the event is poison, refused for what it is. It goes
  to the dead letters (counted, logged by id and type, never by body) and the run's later
  events carry on. Retrying the same bytes cannot succeed, and holding the run back forever
  would stall every later event of it while the queue grows; devops-server's resync loop
  repairs what a lost event would have told it, and the dead letter stays on disk to read.
- 401 and 403 are not the event's fault but the token's: retried like an outage, with an
  error logged, so a misconfigured token delays events instead of discarding them all.
- 408, 429, 5xx, timeouts and connection errors: transient. The event stays at the head of
  its run and is retried after an exponential backoff with full jitter (a uniform draw from
  0 to `min(retry_max, retry_base * 2**(attempt-1))`, at least `Retry-After` if given).

Outage. Every transient failure also pauses all workers for a backoff drawn the same way
from the count of consecutive transient failures, reset by the next answer that is not one.
While devops-server is down, that keeps the proxy to a few probing requests per pause rather
than one per waiting run; a single flaky event only costs a pause of about `retry_base`.

Rate. Every attempt, retries included, takes a token from a bucket of `qps` per second and
`burst` at most, which protects devops-server after an outage when the backlog drains.

Delivery is at least once: an event delivered just before a crash, but not yet settled in
the outbox, is sent again after restart. Events carry ids and devops-server applies them
once.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import time
from collections import deque
from dataclasses import dataclass

import aiohttp

from services.event_proxy.metrics import Metrics
from services.event_proxy.outbox import Outbox, StoredEvent
from services.event_proxy.ratelimit import TokenBucket
from services.event_proxy.settings import EventProxySettings

logger = logging.getLogger(__name__)

_PAGE = 1000
_MAX_RETRY_AFTER = 60.0


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    DEAD = "dead"
    RETRY = "retry"


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    status: int = 0
    reason: str = ""
    wait: float = 0.0  # the least the next attempt must wait (Retry-After)


def backoff(attempt: int, base: float, cap: float) -> float:
    """Full-jitter exponential backoff for the `attempt`-th consecutive failure (from 1)."""
    ceiling = min(cap, base * 2 ** min(attempt - 1, 62))
    return random.uniform(0, ceiling)


def judge(status: int, retry_after: str | None = None) -> Verdict:
    """What to do with an event after devops-server answered `status`."""
    if 200 <= status < 300:
        return Verdict(Outcome.DELIVERED, status)
    if status in (401, 403):
        return Verdict(Outcome.RETRY, status, "unauthorized")
    if status == 408:
        return Verdict(Outcome.RETRY, status, "timeout")
    if status == 429:
        return Verdict(Outcome.RETRY, status, "throttled", _seconds(retry_after))
    if 400 <= status < 500:
        return Verdict(Outcome.DEAD, status, "rejected")
    if status >= 500:
        return Verdict(Outcome.RETRY, status, "server_error", _seconds(retry_after))
    return Verdict(Outcome.RETRY, status, "unexpected_status")


def _seconds(header: str | None) -> float:
    if not header:
        return 0.0
    try:
        return min(max(float(header), 0.0), _MAX_RETRY_AFTER)
    except ValueError:
        return 0.0  # an HTTP date: rare enough to fall back to our own backoff


class Forwarder:
    def __init__(self, outbox: Outbox, settings: EventProxySettings, metrics: Metrics) -> None:
        self._outbox = outbox
        self._settings = settings
        self._metrics = metrics
        self._limiter = TokenBucket(settings.qps, settings.burst)
        self._headers = {"X-Workbench-Jenkins": settings.instance}
        if settings.token is not None:
            self._headers["Authorization"] = f"Bearer {settings.token.get_secret_value()}"

        self._session: aiohttp.ClientSession | None = None
        self._queues: dict[str, deque[StoredEvent]] = {}
        self._ready: asyncio.Queue[str] = asyncio.Queue()
        self._attempts: dict[int, int] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._window: dict[int, float] = {}  # seq -> received_at, in arrival order
        self._room = asyncio.Event()
        self._cursor = 0
        self._paused_until = 0.0
        self._failures_in_a_row = 0
        self._stopping = False
        self._feeder: asyncio.Task[None] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._idle: list[bool] = []

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._settings.timeout),
            connector=aiohttp.TCPConnector(limit=self._settings.concurrency),
        )
        self._feeder = asyncio.create_task(self._feed(), name="event-proxy-feeder")
        self._idle = [True] * self._settings.concurrency
        self._workers = [
            asyncio.create_task(self._work(index), name=f"event-proxy-worker-{index}")
            for index in range(self._settings.concurrency)
        ]

    async def stop(self, grace: float) -> None:
        """Stop taking work; let deliveries in flight finish for up to `grace` seconds."""
        self._stopping = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._feeder is not None:
            self._feeder.cancel()

        busy = []
        for worker, idle in zip(self._workers, self._idle, strict=True):
            if idle:
                worker.cancel()
            else:
                busy.append(worker)
        if busy:
            await asyncio.wait(busy, timeout=grace)
        for task in [self._feeder, *self._workers]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._session is not None:
            await self._session.close()

    def oldest_received_at(self) -> float | None:
        """Arrival time of the oldest event not yet settled, if any."""
        return next(iter(self._window.values()), None)

    async def _feed(self) -> None:
        """Page pending events from the outbox into the per-key queues, in arrival order."""
        limit = self._settings.window
        while True:
            if len(self._window) >= limit:
                self._room.clear()
                await self._room.wait()
                continue

            self._outbox.changed.clear()
            page = await self._outbox.load(self._cursor, min(_PAGE, limit - len(self._window)))
            if not page:
                await self._outbox.changed.wait()
                continue

            for event in page:
                self._cursor = event.seq
                self._window[event.seq] = event.received_at
                queue = self._queues.get(event.key)
                if queue is None:
                    self._queues[event.key] = deque([event])
                    self._ready.put_nowait(event.key)
                else:
                    queue.append(event)

    async def _work(self, index: int) -> None:
        while not self._stopping:
            self._idle[index] = True
            key = await self._ready.get()
            self._idle[index] = False
            await self._serve(key)

    async def _serve(self, key: str) -> None:
        """Attempt the first event of `key`; settle it, or schedule the key's retry."""
        queue = self._queues[key]
        event = queue[0]
        verdict = await self._attempt(event)

        if verdict.outcome is Outcome.RETRY:
            attempts = self._attempts.get(event.seq, 0) + 1
            self._attempts[event.seq] = attempts
            delay = max(verdict.wait, self._backoff(attempts))
            self._timers[key] = asyncio.get_running_loop().call_later(delay, self._requeue, key)
            return

        if verdict.outcome is Outcome.DELIVERED:
            self._outbox.settle_delivered(event)
            self._metrics.forwarded.labels(event.type).inc()
            self._metrics.delivery_delay.observe(max(0.0, time.time() - event.received_at))
        else:
            self._outbox.settle_dead(event, status=verdict.status, reason=verdict.reason)
            self._metrics.dead_letters.inc()
            logger.warning(
                "devops-server refused event %s (%s) with %d; moved to the dead letters",
                event.id,
                event.type,
                verdict.status,
            )

        queue.popleft()
        self._attempts.pop(event.seq, None)
        del self._window[event.seq]
        self._room.set()
        if queue:
            self._ready.put_nowait(key)
        else:
            del self._queues[key]

    def _requeue(self, key: str) -> None:
        self._timers.pop(key, None)
        self._ready.put_nowait(key)

    async def _attempt(self, event: StoredEvent) -> Verdict:
        """POST `event` once, after any outage pause and a rate-limit token."""
        assert self._session is not None
        loop = asyncio.get_running_loop()
        pause = self._paused_until - loop.time()
        while pause > 0:  # the pause may grow while we sleep
            await asyncio.sleep(pause)
            pause = self._paused_until - loop.time()
        await self._limiter.acquire()

        headers = {
            **self._headers,
            "Content-Type": event.content_type,
            "X-Event-Type": event.event_type_header,
        }
        if event.referrer:
            headers["Referrer"] = event.referrer
        started = loop.time()
        try:
            async with self._session.post(
                self._settings.target_url,
                data=event.body,
                headers=headers,
                allow_redirects=False,
            ) as response:
                await response.read()
                verdict = judge(response.status, response.headers.get("Retry-After"))
        except TimeoutError:
            verdict = Verdict(Outcome.RETRY, reason="timeout")
        except aiohttp.ClientError as exc:
            logger.debug("delivery of event %s failed: %r", event.id, exc)
            verdict = Verdict(Outcome.RETRY, reason="connection")

        if verdict.outcome is Outcome.RETRY:
            self._metrics.failures.labels(verdict.reason).inc()
            self._note_failure(verdict)
        else:
            if verdict.outcome is Outcome.DEAD:
                self._metrics.failures.labels(verdict.reason).inc()
            else:
                self._metrics.forward_latency.observe(loop.time() - started)
            self._note_answer()
        return verdict

    def _note_failure(self, verdict: Verdict) -> None:
        """Pause every worker a little longer for each transient failure in a row."""
        self._failures_in_a_row += 1
        if self._failures_in_a_row == 1:
            if verdict.reason == "unauthorized":
                logger.error(
                    "devops-server rejects event-proxy's token (%d); events are kept and "
                    "retried: check WORKBENCH_EVENT_PROXY_TOKEN",
                    verdict.status,
                )
            else:
                logger.warning(
                    "delivery to devops-server failed (%s %s); retrying with backoff",
                    verdict.reason,
                    verdict.status or "",
                )
        pause = max(verdict.wait, self._backoff(self._failures_in_a_row))
        until = asyncio.get_running_loop().time() + pause
        self._paused_until = max(self._paused_until, until)

    def _note_answer(self) -> None:
        if self._failures_in_a_row:
            logger.info(
                "devops-server answers again after %d failed attempts", self._failures_in_a_row
            )
            self._failures_in_a_row = 0

    def _backoff(self, attempt: int) -> float:
        return backoff(attempt, self._settings.retry_base, self._settings.retry_max)
