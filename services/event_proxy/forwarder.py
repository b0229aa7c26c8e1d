"""Forwarding: from the outbox to devops-server, in order per run, retried until it lands.

Flow. A feeder pages pending events out of the outbox in arrival order (a cursor on `seq`)
into a window held in memory (at most `window` events; the rest wait on disk, so an outage of
any length costs disk, not memory). Each event joins the queue of its ordering key (one run,
or one item; see `envelope`). A worker (`concurrency` of them) takes a key that has events,
and then more keys that are waiting, until it holds `batch` events (or about 1 MiB): for
each key, its events in order. It POSTs them as one JSON array to the batch path of the
target (`<target_url>:batch`), which answers one status per event; a key is in one worker's
hands at a time, and only when its events are settled can the key go out again. So events of
one run never overtake each other, runs go in parallel, and under load one post carries many
events: devops-server applies a whole batch in one transaction.

A post that holds one event (always, with `batch` 1; under light load, mostly) goes to
`target_url` itself, byte for byte with the plugin's headers, as the plugin would have posted
it; so does an event too large to share a post. A receiver that answers 404 or 405 on the
batch path takes only single events: event-proxy says so once and posts one event at a time
from then on (posts already in flight are sent again that way). A post of many events is
refused as a whole only when devops-server could not apply it (a 5xx: it is sent again); it
applies the events of a failed batch one by one, so one event that cannot be applied holds
back its own run, not the others in its post.

Outcome of one event, by the status devops-server answered for it (in a batch, the event's
own status when the post was answered 2xx, else the post's status):

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

Rate. Every post, retries included, takes a token from a bucket of `qps` per second and
`burst` at most, which protects devops-server after an outage when the backlog drains.

Delivery is at least once: an event delivered just before a crash, but not yet settled in
the outbox, is sent again after restart. Events carry ids and devops-server applies them
once.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import random
import time
from collections import deque
from dataclasses import dataclass

import aiohttp

from libs.common.background import cancel_and_wait
from services.event_proxy.metrics import Metrics
from services.event_proxy.outbox import Outbox, StoredEvent
from services.event_proxy.ratelimit import TokenBucket
from services.event_proxy.settings import EventProxySettings

logger = logging.getLogger(__name__)

_PAGE = 1000
_MAX_RETRY_AFTER = 60.0
_BATCH_BYTES = 1024 * 1024  # a batch grows no further once its bodies hold this much


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


def _per_event(answer: bytes, count: int) -> list[Verdict]:
    """The verdicts in a batch's answer, `{"results": [{"status": ...}, ...]}`, in order."""
    try:
        results = json.loads(answer)["results"]
        statuses = [int(result["status"]) for result in results]
    except (ValueError, KeyError, TypeError):
        statuses = []
    if len(statuses) != count:
        logger.error("devops-server answered a batch of %d with no result per event", count)
        return [Verdict(Outcome.RETRY, reason="unexpected_answer")] * count
    return [judge(status) for status in statuses]


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
        self._batch = settings.batch
        self._batch_url = settings.target_url + ":batch"
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
                await cancel_and_wait(task)
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
            keys = [key]
            held = len(self._queues[key])
            while held < self._batch and not self._ready.empty():
                key = self._ready.get_nowait()
                keys.append(key)
                held += len(self._queues[key])
            await self._serve(keys)

    def _take(self, keys: list[str]) -> list[tuple[str, list[StoredEvent]]]:
        """The events to post for `keys`: each key's first ones, in order, within the batch."""
        taken: list[tuple[str, list[StoredEvent]]] = []
        room, size = self._batch, 0
        for key in keys:
            events: list[StoredEvent] = []
            for event in self._queues[key]:
                full = room == 0 or size + len(event.body) > _BATCH_BYTES
                if full and (events or taken):  # the post's first event always goes
                    break
                events.append(event)
                room -= 1
                size += len(event.body)
            if not events:
                self._ready.put_nowait(key)  # no room left in this post: the next one
                continue
            taken.append((key, events))
        return taken

    async def _serve(self, keys: list[str]) -> None:
        """Post the first events of `keys`; settle each, or schedule its key's retry."""
        taken = self._take(keys)
        verdicts = iter(await self._attempt([e for _, events in taken for e in events]))
        for key, events in taken:
            answered = [next(verdicts) for _ in events]
            self._settle(key, events, answered)

    def _settle(self, key: str, events: list[StoredEvent], verdicts: list[Verdict]) -> None:
        queue = self._queues[key]
        for event, verdict in zip(events, verdicts, strict=True):
            if verdict.outcome is Outcome.RETRY:
                attempts = self._attempts.get(event.seq, 0) + 1
                self._attempts[event.seq] = attempts
                delay = max(verdict.wait, self._backoff(attempts))
                loop = asyncio.get_running_loop()
                self._timers[key] = loop.call_later(delay, self._requeue, key)
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

    async def _attempt(self, events: list[StoredEvent]) -> list[Verdict]:
        """POST `events` once, after any outage pause and a rate-limit token; a verdict for
        each."""
        assert self._session is not None
        loop = asyncio.get_running_loop()
        pause = self._paused_until - loop.time()
        while pause > 0:  # the pause may grow while we sleep
            await asyncio.sleep(pause)
            pause = self._paused_until - loop.time()
        await self._limiter.acquire()

        started = loop.time()
        try:
            if len(events) == 1:
                verdicts = [await self._post_one(events[0])]
            else:
                verdicts = await self._post_batch(events)
        except TimeoutError:
            verdicts = [Verdict(Outcome.RETRY, reason="timeout")] * len(events)
        except aiohttp.ClientError as exc:
            logger.debug("delivery of %d events failed: %r", len(events), exc)
            verdicts = [Verdict(Outcome.RETRY, reason="connection")] * len(events)

        failed = next((v for v in verdicts if v.outcome is Outcome.RETRY), None)
        for verdict in verdicts:
            if verdict.outcome is not Outcome.DELIVERED:
                self._metrics.failures.labels(verdict.reason).inc()
        if failed is not None:
            self._note_failure(failed)
        else:
            self._metrics.forward_latency.observe(loop.time() - started)
            self._note_answer()
        return verdicts

    async def _post_one(self, event: StoredEvent) -> Verdict:
        """The event alone, to the plugin's path, with the plugin's headers."""
        assert self._session is not None
        headers = {
            **self._headers,
            "Content-Type": event.content_type,
            "X-Event-Type": event.event_type_header,
        }
        if event.referrer:
            headers["Referrer"] = event.referrer
        async with self._session.post(
            self._settings.target_url, data=event.body, headers=headers, allow_redirects=False
        ) as response:
            await response.read()
            return judge(response.status, response.headers.get("Retry-After"))

    async def _post_batch(self, events: list[StoredEvent]) -> list[Verdict]:
        """The events as one JSON array to the batch path; a verdict for each."""
        assert self._session is not None
        body = b"[" + b",".join(event.body for event in events) + b"]"
        headers = {**self._headers, "Content-Type": "application/json"}
        async with self._session.post(
            self._batch_url, data=body, headers=headers, allow_redirects=False
        ) as response:
            answer = await response.read()
            status = response.status
            retry_after = response.headers.get("Retry-After")
        if status in (404, 405):
            if self._batch != 1:  # said once, though posts in flight may learn it too
                logger.warning(
                    "%s answers %d: the receiver takes single events; posting one at a time",
                    self._batch_url,
                    status,
                )
            self._batch = 1
            return [Verdict(Outcome.RETRY, status, "batch_unsupported")] * len(events)
        if not 200 <= status < 300:
            verdict = judge(status, retry_after)
            if verdict.outcome is Outcome.DEAD:
                # The post as a whole was refused, not any one event: never seen here, as
                # the proxy sends only JSON objects within the receiver's limits.
                logger.error("devops-server refused a batch of %d with %d", len(events), status)
                verdict = Verdict(Outcome.RETRY, status, "batch_refused")
            return [verdict] * len(events)
        return _per_event(answer, len(events))

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
