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
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from prometheus_client import Counter, Histogram

from services.devops_server.ci.instances import InstanceStore
from services.devops_server.events.envelope import MalformedEnvelope, parse
from services.devops_server.events.recorder import EventRecorder

logger = logging.getLogger(__name__)

PATH = "/apis/internel.amamba.io/devops/pipeline/v1alpha1/webhooks/jenkins"
MAX_BODY = 4 * 1024 * 1024

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
    "Time to record and apply one event",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
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

    @routes.post(PATH, include_in_schema=False)
    async def receive(request: Request) -> Response:
        """Take one Generic Event plugin envelope from event-proxy."""
        presented = request.headers.get("authorization", "").encode()
        instance = request.headers.get("x-workbench-jenkins", "")[:63]
        if not hmac.compare_digest(presented, expected):
            REJECTED.labels("unauthenticated", instance).inc()
            return _error(401, 16, "events must carry event-proxy's bearer token")
        if not await known.has(instance):
            REJECTED.labels("unknown-instance", instance).inc()
            return _error(403, 7, f"Jenkins instance {instance!r} is not registered")

        body = await request.body()
        if len(body) > MAX_BODY:
            REJECTED.labels("too-large", instance).inc()
            return _error(413, 3, f"the envelope is larger than {MAX_BODY} bytes")
        try:
            event = parse(json.loads(body))
        except (ValueError, MalformedEnvelope) as error:
            reason = str(error) if isinstance(error, MalformedEnvelope) else "body: not JSON"
            REJECTED.labels("malformed", instance).inc()
            await recorder.reject(instance, reason, body)
            return _error(400, 3, reason)

        RECEIVED.labels(event.type, instance).inc()
        started = time.perf_counter()
        outcome = await recorder.record(event, instance)
        APPLY_SECONDS.observe(time.perf_counter() - started)
        if outcome is None:
            DUPLICATES.labels(event.type, instance).inc()
            return Response("{}", media_type="application/json")

        APPLIED.labels(event.type, instance).inc()
        if event.time is not None:
            LAG_SECONDS.observe(max(0.0, (datetime.now(UTC) - event.time).total_seconds()))
        logger.info("event %s %s from %s: %s", event.type, event.id, instance, outcome)
        return Response("{}", media_type="application/json")

    return routes
