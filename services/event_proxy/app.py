"""event-proxy: the HTTP face (what Jenkins posts to) and the wiring of outbox and forwarder.

`POST /event` (and the same body at amamba's webhook path, for drop-in use) is answered 200
only once the event is committed to the outbox; a body that is not an envelope is answered
400 with the reason, a body over `max_body_bytes` 413, and a failing disk 503, so the poster
sees the truth even though the Generic Event plugin ignores it. `/healthz` answers while the
process runs; `/readyz` while the outbox can take events; `/metrics` is Prometheus text.

Start-up opens the outbox (pending events from a previous run are delivered first, in their
order), starts the forwarder, then opens the port. Shutdown runs the other way round: the
port closes, deliveries in flight get `shutdown_grace` seconds, the outbox commits what is
queued and closes.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.event_proxy import envelope
from services.event_proxy.forwarder import Forwarder
from services.event_proxy.metrics import Metrics
from services.event_proxy.outbox import NewEvent, Outbox, OutboxError
from services.event_proxy.settings import EventProxySettings

logger = logging.getLogger(__name__)

AMAMBA_WEBHOOK_PATH = "/apis/internel.amamba.io/devops/pipeline/v1alpha1/webhooks/jenkins"
_DEFAULT_CONTENT_TYPE = "application/json; charset=UTF-8"


class EventProxy:
    """One event-proxy: `await start()`, post events to `port`, `await stop()`."""

    def __init__(self, settings: EventProxySettings) -> None:
        self.settings = settings
        self.outbox = Outbox(settings.outbox_path, dedupe_seconds=settings.dedupe_seconds)
        self.metrics = Metrics(depth=self.queue_depth, oldest_age=self.oldest_event_age)
        self._forwarder = Forwarder(self.outbox, settings, self.metrics)
        self._runner: web.AppRunner | None = None
        self._accepting = False
        self.port = 0

    async def start(self) -> None:
        await self.outbox.open()
        await self._forwarder.start()

        self._runner = web.AppRunner(self._http_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._accepting = True
        logger.info(
            "event-proxy %s listening on %s:%d, forwarding to %s",
            self.settings.instance,
            self.settings.host,
            self.port,
            self.settings.target_url,
        )

    async def stop(self) -> None:
        self._accepting = False
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._forwarder.stop(self.settings.shutdown_grace)
        await self.outbox.close()
        logger.info("event-proxy stopped with %d events pending", self.outbox.depth)

    def queue_depth(self) -> int:
        """Events stored and not yet delivered or dead-lettered."""
        return self.outbox.depth

    def oldest_event_age(self) -> float:
        """Seconds since the oldest undelivered event arrived; 0 when there is none."""
        oldest = self._forwarder.oldest_received_at()
        return 0.0 if oldest is None else max(0.0, time.time() - oldest)

    def _http_app(self) -> web.Application:
        app = web.Application(client_max_size=self.settings.max_body_bytes)
        app.router.add_post("/event", self._receive)
        app.router.add_post(AMAMBA_WEBHOOK_PATH, self._receive)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def _receive(self, request: web.Request) -> web.Response:
        """Store one event, then answer 200."""
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            self.metrics.rejected.labels("too_large").inc()
            limit = self.settings.max_body_bytes
            return _error(413, f"body is larger than {limit} bytes")

        try:
            event = envelope.parse(body)
        except envelope.InvalidEvent as exc:
            self.metrics.rejected.labels("invalid").inc()
            return _error(400, str(exc))

        new_event = NewEvent(
            id=event.id,
            type=event.type,
            key=event.key,
            event_type_header=request.headers.get("X-Event-Type") or event.type,
            referrer=request.headers.get("Referrer", ""),
            content_type=request.headers.get("Content-Type") or _DEFAULT_CONTENT_TYPE,
            body=body,
            received_at=time.time(),
        )
        try:
            stored = await self.outbox.append(new_event)
        except OutboxError as exc:
            logger.error("could not store event %s (%s): %s", event.id, event.type, exc)
            return _error(503, "the outbox cannot store events right now")

        if stored:
            self.metrics.received.labels(event.type).inc()
        else:
            self.metrics.duplicates.inc()
        logger.debug("stored event %s (%s) duplicate=%s", event.id, event.type, not stored)
        return web.json_response({"id": event.id, "duplicate": not stored})

    async def _healthz(self, request: web.Request) -> web.Response:
        """Liveness: the process answers."""
        return web.json_response({"status": "ok"})

    async def _readyz(self, request: web.Request) -> web.Response:
        """Readiness: the outbox is open and takes events."""
        if self._accepting and self.outbox.healthy:
            return web.json_response({"status": "ready"})
        return _error(503, "not ready")

    async def _metrics(self, request: web.Request) -> web.Response:
        """Prometheus metrics of this proxy."""
        return web.Response(
            body=generate_latest(self.metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
