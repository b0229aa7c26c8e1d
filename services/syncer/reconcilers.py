"""Everything the leading syncer runs, started when it gains the lease and cancelled when it
loses it.

The pieces, in the order they start:

1. One `ListWatch` per provider over its labelled objects in the control-plane cluster,
   feeding the provider's `ObjectCache`. The controllers wait until every watch has listed
   once, so no reconcile mistakes "not listed yet" for "missing" and creates a duplicate.
2. The `TenancyView`, loaded once from devops-server (retried until devops-server answers).
3. One `Controller` per provider, keyed by workspace id, each with its own work queue,
   workers and backoff: a provider whose API fails slows only its own keys. Each resync
   reloads the view (once for all controllers) and queues every workspace that exists or
   still owns an object, so deletions missed while no syncer led are cleaned up too.
4. The `ChangeFollower` on devops-server's change stream, which refreshes the view and
   queues the workspaces a change affects, in every controller. Watch events on the
   objects themselves queue their workspace in the provider's own controller, which is how
   an AppProject edited or deleted by hand is repaired at once.

`ready` is set once every key of each controller's first resync has been reconciled
successfully: the first full sync after gaining the lease. A new leader always starts from
nothing (new caches, a change stream replayed from the beginning and collapsed into one
reload), which is what makes a takeover safe without handing any state over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from kubernetes_asyncio import client

from libs.controller import Controller
from libs.devops_client import DevopsClient
from services.syncer.argocd import AppProjects
from services.syncer.kubevela import OamNamespaces
from services.syncer.provider import Provider
from services.syncer.tenancy import ChangeFollower, TenancyView

__all__ = ["Reconcilers", "SyncerOptions"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncerOptions:
    """Timings of the syncer; the defaults suit production, tests shorten them."""

    resync_seconds: float = 300.0
    workers: int = 16
    lease_seconds: float = 15.0
    renew_seconds: float = 5.0
    retry_seconds: float = 2.0
    backoff_base: float = 0.1
    backoff_cap: float = 60.0
    identity: str | None = None  # default: hostname and pid


class _FirstPass:
    """Tracks the keys of each controller's first resync until each has succeeded once."""

    def __init__(self, names: Iterable[str]) -> None:
        self._pending: dict[str, set[int] | None] = dict.fromkeys(names)
        self.done = asyncio.Event()

    def listed(self, name: str, keys: Iterable[int]) -> None:
        if self._pending[name] is None:
            self._pending[name] = set(keys)
            self._check()

    def succeeded(self, name: str, key: int) -> None:
        pending = self._pending[name]
        if pending is not None and key in pending:
            pending.discard(key)
            self._check()

    def _check(self) -> None:
        if all(keys is not None and not keys for keys in self._pending.values()):
            if not self.done.is_set():
                logger.info("first full sync done")
            self.done.set()


class Reconcilers:
    """The providers, their watches and controllers, and the tenancy change follower."""

    def __init__(
        self,
        api_client: client.ApiClient,
        devops: DevopsClient,
        *,
        argocd_namespace: str,
        options: SyncerOptions,
    ) -> None:
        self._devops = devops
        self._options = options
        self.view = TenancyView(devops)
        self.providers: list[Provider] = [
            AppProjects(api_client, self.view, argocd_namespace),
            OamNamespaces(api_client, self.view),
        ]
        self.controllers: list[Controller[int]] = []
        self._first_pass = _FirstPass(provider.provider for provider in self.providers)

    @property
    def ready(self) -> asyncio.Event:
        return self._first_pass.done

    @property
    def writes(self) -> int:
        """Writes this instance's providers made."""
        return sum(provider.writes for provider in self.providers)

    async def run(self) -> None:
        """Reconcile until cancelled."""
        async with asyncio.TaskGroup() as group:
            watches = [provider.list_watch() for provider in self.providers]
            for provider, lister in zip(self.providers, watches, strict=True):
                group.create_task(lister.run(), name=f"{provider.provider}-watch")
            await asyncio.gather(*(lister.synced.wait() for lister in watches))
            await self._load_tenancy()

            for provider in self.providers:
                controller: Controller[int] = Controller(
                    provider.provider,
                    self._reconcile_of(provider),
                    list_keys=self._keys_of(provider),
                    workers=self._options.workers,
                    resync_seconds=self._options.resync_seconds,
                    backoff_base=self._options.backoff_base,
                    backoff_cap=self._options.backoff_cap,
                )
                provider.enqueue = controller.enqueue
                self.controllers.append(controller)
                group.create_task(controller.run(), name=f"{provider.provider}-controller")

            follower = ChangeFollower(self._devops, self.view, self._changed)
            group.create_task(follower.run(), name="tenancy-changes")

    async def _load_tenancy(self) -> None:
        while True:
            try:
                await self.view.reload()
                return
            except Exception as error:
                logger.warning("tenancy could not be read (%s); retrying", error)
                await asyncio.sleep(self._options.retry_seconds)

    def _reconcile_of(self, provider: Provider) -> Callable[[int], Awaitable[None]]:
        async def reconcile(workspace_id: int) -> None:
            await provider.reconcile(workspace_id)
            self._first_pass.succeeded(provider.provider, workspace_id)

        return reconcile

    def _keys_of(self, provider: Provider) -> Callable[[], Awaitable[set[int]]]:
        async def keys() -> set[int]:
            # Both controllers resync on the same period: the second reuses the reload.
            await self.view.reload(max_age=self._options.resync_seconds / 2)
            found = self.view.workspace_ids() | provider.workspaces_seen()
            self._first_pass.listed(provider.provider, found)
            return found

        return keys

    def _changed(self, workspace_ids: set[int]) -> None:
        for controller in self.controllers:
            for workspace_id in workspace_ids:
                controller.enqueue(workspace_id)
