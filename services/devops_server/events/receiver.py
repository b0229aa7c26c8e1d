"""The HTTP endpoint Jenkins events arrive at, through event-proxy.

`POST /apis/internel.amamba.io/devops/pipeline/v1alpha1/webhooks/jenkins` (the misspelt
`internel` is the path existing Jenkins installations are configured with). Each post is
checked in this order, and every refusal is counted:

1. `Authorization: Bearer <token>`: event-proxy's token (the internal token). Without it, 401.
   The plugin itself cannot authenticate, which is why it posts to event-proxy on localhost.
2. `X-Workbench-Jenkins: <instance>` names a registered Jenkins instance; otherwise 403.
3. The body is a JSON object of the plugin's envelope shape; otherwise 400 naming the problem,
   and the body is kept in `rejected_events`.
4. The event id was not seen before; a repeat is acknowledged with 200 and changes nothing.

Then the event is applied in the transaction that records its id, and the answer is `{}`.

`POST ...webhooks/jenkins:batch` is event-proxy's way in: the same checks for the post, then
a JSON array of up to 1,000 envelopes, in the order event-proxy took them, recorded and
applied in one transaction. The answer has one result per element, in order:
`{"results": [{"id": ..., "status": 200 | 400, "message": ...}]}`: 200 with what applying it
did (or "seen before"), 400 naming what is wrong with a malformed element (kept like a
malformed single post; the others are applied all the same). A failure of the whole batch
(the database is down) is a 5xx for the post, and event-proxy sends it again.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import Counter, Histogram

from services.devops_server.ci.instances import InstanceStore
from services.devops_server.events.envelope import Envelope, MalformedEnvelope, parse
from services.devops_server.events.recorder import EventRecorder

logger = logging.getLogger(__name__)

PATH = "/apis/internel.amamba.io/devops/pipeline/v1alpha1/webhooks/jenkins"
BATCH_PATH = PATH + ":batch"
MAX_BODY = 4 * 1024 * 1024
MAX_BATCH = 1000

RECEIVED = Counter(
    "workbench_events_received_total", "Jenkins events received", ["type", "instance"]
)
APPLIED = Counter("workbench_events_applied_total", "Jenkins events applied", ["type", "instance"])
DUPLICATES = Counter(
    "workbench_events_duplicate_total", "Jenkins events seen before", ["type", "instance"]
)
REJECTED = Counter(
    "workbench_events_rejected_total", "Jenkins event posts refused", ["reason", "instance"]
)
APPLY_SECONDS = Histogram(
    "workbench_events_apply_seconds",
    "Time to record and apply one post's events",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)
BATCH_EVENTS = Histogram(
    "workbench_events_batch_size",
    "Envelopes in one post of event-proxy's batch path",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
LAG_SECONDS = Histogram(
    "workbench_events_lag_seconds",
    "From the event's time in Jenkins to its effect being readable",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def _error(status: int, code: int, message: str) -> Response:
    body = json.dumps({"code": code, "message": message, "details": []})
    return Response(body, status_code=status, media_type="application/json")


class KnownInstances:
    """Whether an instance is registered, remembered for a few seconds: checked every event."""

    def __init__(self, instances: InstanceStore, *, ttl_seconds: float = 5.0) -> None:
        self._instances = instances
        self._ttl = ttl_seconds
        self._names: frozenset[str] = frozenset()
        self._read_at = float("-inf")

    async def has(self, name: str) -> bool:
        now = time.monotonic()
        if name not in self._names or now - self._read_at > self._ttl:
            self._names = frozenset(row.name for row in await self._instances.list())
            self._read_at = now
        return name in self._names


def router(recorder: EventRecorder, instances: InstanceStore, token: str) -> APIRouter:
    routes = APIRouter()
    expected = f"Bearer {token}".encode()
    known = KnownInstances(instances)

    async def admit(request: Request) -> tuple[str, bytes, Response | None]:
        """The instance a post comes from and its body, and the answer if it is refused."""
        presented = request.headers.get("authorization", "").encode()
        instance = request.headers.get("x-workbench-jenkins", "")[:63]
        if not hmac.compare_digest(presented, expected):
            REJECTED.labels("unauthenticated", instance).inc()
            return instance, b"", _error(401, 16, "events must carry event-proxy's bearer token")
        if not await known.has(instance):
            REJECTED.labels("unknown-instance", instance).inc()
            refused = _error(403, 7, f"Jenkins instance {instance!r} is not registered")
            return instance, b"", refused
        body = await request.body()
        if len(body) > MAX_BODY:
            REJECTED.labels("too-large", instance).inc()
            return instance, b"", _error(413, 3, f"the body is larger than {MAX_BODY} bytes")
        return instance, body, None

    async def malformed(instance: str, reason: str, body: bytes) -> None:
        REJECTED.labels("malformed", instance).inc()
        await recorder.reject(instance, reason, body)

    async def take(events: list[Envelope], instance: str) -> list[str | None]:
        """Record and apply `events`; per event its outcome, None for a repeat."""
        if not events:
            return []
        for event in events:
            RECEIVED.labels(event.type, instance).inc()
        started = time.perf_counter()
        outcomes = await recorder.record(events, instance)
        APPLY_SECONDS.observe(time.perf_counter() - started)
        now = datetime.now(UTC)
        for event, outcome in zip(events, outcomes, strict=True):
            if outcome is None:
                DUPLICATES.labels(event.type, instance).inc()
                continue
            APPLIED.labels(event.type, instance).inc()
            if event.time is not None:
                LAG_SECONDS.observe(max(0.0, (now - event.time).total_seconds()))
            logger.debug("event %s %s from %s: %s", event.type, event.id, instance, outcome)
        return outcomes

    async def alone(event: Envelope, instance: str) -> tuple[int, str]:
        """Record and apply one event of a failed batch: its status and message."""
        try:
            [outcome] = await take([event], instance)
        except Exception as error:
            logger.warning(
                "event %s %s from %s could not be applied: %s",
                event.type,
                event.id,
                instance,
                type(error).__name__,
            )
            return 500, "the event could not be applied; send it again"
        return 200, outcome or "seen before"

    @routes.post(PATH, include_in_schema=False)
    async def receive(request: Request) -> Response:
        """Take one Generic Event plugin envelope from event-proxy."""
        instance, body, refused = await admit(request)
        if refused is not None:
            return refused
        try:
            event = parse(json.loads(body))
        except (ValueError, MalformedEnvelope) as error:
            reason = str(error) if isinstance(error, MalformedEnvelope) else "body: not JSON"
            await malformed(instance, reason, body)
            return _error(400, 3, reason)

        [outcome] = await take([event], instance)
        logger.info("event %s %s from %s: %s", event.type, event.id, instance, outcome or "seen")
        return Response("{}", media_type="application/json")

    @routes.post(BATCH_PATH, include_in_schema=False)
    async def receive_batch(request: Request) -> Response:
        """Take envelopes in order from event-proxy: a JSON array, each element answered."""
        instance, body, refused = await admit(request)
        if refused is not None:
            return refused
        try:
            items = json.loads(body)
        except ValueError:
            return _error(400, 3, "body: not JSON")
        if not isinstance(items, list):
            return _error(400, 3, "body: a batch is a JSON array of envelopes")
        if len(items) > MAX_BATCH:
            return _error(400, 3, f"body: a batch holds at most {MAX_BATCH} envelopes")

        BATCH_EVENTS.observe(len(items))
        results: list[dict[str, Any]] = []
        parsed: list[tuple[int, Envelope]] = []
        for item in items:
            given = item.get("id") if isinstance(item, dict) else None
            try:
                event = parse(item)
            except MalformedEnvelope as error:
                await malformed(instance, str(error), json.dumps(item).encode())
                results.append({"id": given, "status": 400, "message": str(error)})
                continue
            parsed.append((len(results), event))
            results.append({"id": event.id, "status": 200, "message": ""})

        events = [event for _, event in parsed]
        try:
            answered = [(200, outcome or "seen before") for outcome in await take(events, instance)]
        except Exception:
            # One event can be what fails the whole transaction: each is applied alone then,
            # so the others go through and only the one that fails (and the later events
            # about the same build or item, to keep their order) is sent again.
            logger.exception(
                "a batch of %d events from %s failed; applying them one by one",
                len(events),
                instance,
            )
            answered = []
            failed: set[str] = set()
            for event in events:
                if event.subject in failed:  # never applied after an earlier one that failed
                    answered.append((500, "an earlier event of the same subject failed"))
                    continue
                answered.append(await alone(event, instance))
                if answered[-1][0] != 200:
                    failed.add(event.subject)
        for (index, _), (status, message) in zip(parsed, answered, strict=True):
            results[index].update(status=status, message=message)

        applied = sum(1 for r in results if r["status"] == 200)
        logger.info(
            "%d events from %s: %d taken, %d malformed",
            len(results),
            instance,
            applied,
            len(results) - applied,
        )
        return Response(json.dumps({"results": results}), media_type="application/json")

    return routes
