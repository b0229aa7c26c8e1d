"""List, then watch, one kind of object and report every change, surviving stream loss.

A reconciler's inputs change in the API server; `ListWatch` turns those changes into calls
of `handler(event_type, obj)`, which a controller uses to enqueue keys. It follows the
list-then-watch protocol that client-go's reflector uses:

1. **List** everything and remember the list's `resourceVersion`. Objects not seen before are
   reported as `ADDED`, objects whose `resourceVersion` changed as `MODIFIED`, and objects
   known from an earlier list but now gone as `DELETED` (their last known state is passed).
   So a relist after a gap still reports deletions the watch never delivered.
2. **Watch** from that `resourceVersion` with bookmarks on. kubernetes-asyncio's `Watch`
   tracks the newest version seen, bookmarks included. When the server ends the stream
   (its `timeoutSeconds`, a restart: `drop_watches` in the stand-in), watch again from there;
   no event is lost and none repeats.
3. When the server answers 410 Gone (history compacted past our version, either as the
   response or as an ERROR event in the stream), go back to step 1. Any other failure is
   logged, waited out for `retry_seconds`, and also answered with a relist.

The handler is a plain function, called in the watching task: it must not block. Enqueuing a
key is the intended use; the reconcile happens elsewhere, in a worker.

Objects are passed as plain dicts (as the API server sent them), whatever the list function,
so typed APIs (`CoreV1Api.list_namespaced_config_map`) and `CustomObjectsApi` both work.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

__all__ = ["ListWatch"]

logger = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], None]
ObjectKey = tuple[str, str]


def _key(obj: dict[str, Any]) -> ObjectKey:
    metadata = obj.get("metadata") or {}
    return metadata.get("namespace") or "", metadata.get("name") or ""


class ListWatch:
    """Reports ADDED, MODIFIED and DELETED for the objects `list_fn` returns."""

    def __init__(
        self,
        list_fn: Callable[..., Awaitable[Any]],
        handler: Handler,
        *,
        watch_timeout: int = 300,
        retry_seconds: float = 1.0,
        **list_kwargs: Any,
    ) -> None:
        self._list_fn = list_fn
        self._handler = handler
        self._watch_timeout = watch_timeout
        self._retry_seconds = retry_seconds
        self._list_kwargs = list_kwargs
        self._known: dict[ObjectKey, dict[str, Any]] = {}
        self._serializer = client.ApiClient()
        self.synced = asyncio.Event()  # set once the first list has been reported
        self.relists = 0

    async def run(self) -> None:
        """List and watch until cancelled."""
        try:
            while True:
                try:
                    version = await self._relist()
                    await self._watch(version)
                except ApiException as error:
                    if error.status != 410:
                        raise
                    logger.info("watch %s: history expired, listing again", self._name)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("watch %s: failed, listing again", self._name)
                    await asyncio.sleep(self._retry_seconds)
        finally:
            await self._serializer.close()

    @property
    def _name(self) -> str:
        return getattr(self._list_fn, "__name__", "objects")

    async def _relist(self) -> str:
        listing = self._serializer.sanitize_for_serialization(
            await self._list_fn(**self._list_kwargs)
        )
        self.relists += 1
        seen: dict[ObjectKey, dict[str, Any]] = {}

        for obj in listing.get("items") or []:
            key = _key(obj)
            seen[key] = obj
            before = self._known.get(key)
            if before is None:
                self._handler("ADDED", obj)
            elif before["metadata"].get("resourceVersion") != obj["metadata"].get(
                "resourceVersion"
            ):
                self._handler("MODIFIED", obj)

        for key, obj in self._known.items():
            if key not in seen:
                self._handler("DELETED", obj)

        self._known = seen
        self.synced.set()
        version: str = listing["metadata"]["resourceVersion"]
        return version

    async def _watch(self, version: str) -> None:
        """Watch from `version`, reconnecting from the newest version after each clean end;
        returns never, raises on 410 or any error."""
        while True:
            stream = watch.Watch()
            try:
                async for event in stream.stream(
                    self._list_fn,
                    resource_version=version,
                    allow_watch_bookmarks=True,
                    timeout_seconds=self._watch_timeout,
                    **self._list_kwargs,
                ):
                    self._dispatch(event["type"], event["raw_object"])
            finally:
                await stream.close()

            version = stream.resource_version or version
            logger.debug("watch %s: stream ended, resuming from %s", self._name, version)

    def _dispatch(self, event_type: str, obj: dict[str, Any]) -> None:
        if event_type not in ("ADDED", "MODIFIED", "DELETED"):
            return

        if event_type == "DELETED":
            self._known.pop(_key(obj), None)
        else:
            self._known[_key(obj)] = obj
        self._handler(event_type, obj)
