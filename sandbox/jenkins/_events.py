"""The Generic Event plugin: run and item events posted to one receiver URL.

Delivery copies the plugin as amamba pins it (generic-event 45.x): when
`unclassified.eventDispatcher.receiver` is set (through Configuration as Code), each event is
POSTed as a JSON envelope pretty-printed with an indent of 4, with `Content-Type:
application/json; charset=UTF-8`, `X-Event-Type: <type>` and `Referrer: <Jenkins root URL>`.
Sending is asynchronous and fire-and-forget: the caller never waits, the response status is
ignored, a failure is only logged, nothing is retried or persisted. The plugin's HTTP client
has a pool of one connection, so posts leave one at a time in the order they were emitted;
here one worker task drains a queue to the same effect. With no receiver set an event is
skipped (and logged), as the plugin does.

The envelope is `{id, type, source, url, time, dataType, data, metaData}`; `time` uses Java's
`yyyy-MM-dd'T'HH:mm:ss.SSSZ` in the process's local zone (`+0800`, no colon), and `data` is
the object's `api/json` export at depth 0 with every `url` property removed.

Test knob: `drop` holds event types that are silently not sent (as if lost on the way).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import datetime
from typing import Any

import aiohttp

from sandbox.jenkins._clock import Clock

logger = logging.getLogger(__name__)


def java_time(seconds: float) -> str:
    """`2022-02-06T13:48:15.041+0800`: Java's SimpleDateFormat `yyyy-MM-dd'T'HH:mm:ss.SSSZ`."""
    moment = datetime.fromtimestamp(seconds).astimezone()
    return (
        moment.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{moment.microsecond // 1000:03d}"
        + (moment.strftime("%z"))
    )


def strip_urls(value: Any) -> Any:
    """The plugin's IgnoreURLExportInterceptor: no `url` property anywhere in `data`."""
    if isinstance(value, dict):
        return {k: strip_urls(v) for k, v in value.items() if k != "url"}
    if isinstance(value, list):
        return [strip_urls(v) for v in value]
    return value


class EventDispatcher:
    """Posts Generic Event envelopes to the configured receiver, in order, without waiting."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.receiver: str | None = None
        self.referrer = ""
        self.drop: set[str] = set()
        self.sent: list[dict[str, Any]] = []
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def emit(
        self,
        type: str,
        *,
        source: str,
        url: str,
        data_type: str,
        data: dict[str, Any],
        meta_data: dict[str, Any] | None = None,
    ) -> None:
        """Queue one event for delivery; returns at once."""
        if not self.receiver:
            logger.debug("event %s skipped: no receiver configured", type)
            return
        if type in self.drop:
            logger.info("event %s dropped by the test knob", type)
            return
        envelope = {
            "data": strip_urls(data),
            "dataType": data_type,
            "id": str(uuid.uuid4()),
            "metaData": meta_data,
            "source": source,
            "time": java_time(self.clock.now()),
            "type": type,
            "url": url,
        }
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._deliver(), name="generic-event-sender")
        self._queue.put_nowait((self.receiver, envelope))

    async def drain(self) -> None:
        """Wait until every queued event has been sent (or failed). For tests."""
        if self._queue is not None:
            await self._queue.join()

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
            self._queue = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _deliver(self) -> None:
        assert self._queue is not None
        while True:
            receiver, envelope = await self._queue.get()
            try:
                await self._post(receiver, envelope)
            finally:
                self._queue.task_done()

    async def _post(self, receiver: str, envelope: dict[str, Any]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=1),
                timeout=aiohttp.ClientTimeout(total=30),
            )
        body = json.dumps(envelope, indent=4, ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "X-Event-Type": envelope["type"],
            "Referrer": self.referrer,
        }
        try:
            async with self._session.post(receiver, data=body, headers=headers) as response:
                await response.read()
                logger.info("event %s sent to %s: %s", envelope["type"], receiver, response.status)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            logger.warning("event %s to %s failed: %s", envelope["type"], receiver, exc)
        self.sent.append(envelope)
