"""Everything the leading syncer runs, started when it gains the lease and cancelled when it
loses it.

The pieces, in the order they start:

1. The `TenancyView`, loaded once from devops-server (retried until devops-server answers).
2. One `ListWatch` per provider over its labelled objects in the control-plane cluster,
   feeding the provider's `ObjectCache`. A provider's controller starts once its watch has
   listed, so no reconcile mistakes "not listed yet" for "missing" and creates a
   duplicate; a provider whose objects cannot be listed holds back only itself.
3. One `Controller` per provider, keyed by workspace id, each with its own work queue,
   workers and backoff: a provider whose API fails slows only its own keys. Each resync
   reloads the view (once for all controllers) and queues every workspace that exists or
   still owns an object, so deletions missed while no syncer led are cleaned up too.
4. The `ChangeFollower` on devops-server's change stream, which refreshes the view and
   queues the workspaces a change affects, in every controller. Watch events on the
   objects themselves queue their workspace in the provider's own controller, which is how
   an AppProject edited or deleted by hand is repaired at once.

Beside them runs the `jenkins-jobs` controller (`jenkins_jobs`): no watch (Jenkins has none
to offer), its keys queued by the change follower and its resync, and it is not waited for
by `ready`, so a Jenkins that is down never keeps the Kubernetes side from being ready.
The `jenkins-credentials` controller (`credentials`) is not waited for either; it watches
the credential Secrets and starts, like a provider, once they are listed. Nor is the
`kubevela-application` controller (`kubevela.OamApplications`), which watches the KubeVela
Applications and deletes those outside their workspace's namespace: it has no object to
create, so a first pass would prove nothing. Nor is `jenkins-casc` (`casc`), keyed by
instance name: it watches its ConfigMaps itself, and the change follower hands it the
instances whose registration changed and the member clusters that changed (whose clients
and watches it then makes again).

`ready` is set once every key of each controller's first resync has been reconciled
successfully: the first full sync after gaining the lease. A new term starts from nothing
but the last change revision this process received (new caches, a fresh reload), which is
what makes a takeover safe without handing any state over between processes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from libs.controller import Controller, ListWatch
from libs.devops_client import DevopsClient
from services.syncer.argocd import DEFAULT_GROUP_PATTERN, AppProjects
from services.syncer.casc import JenkinsCasc
from services.syncer.credentials import JenkinsCredentials
from services.syncer.jenkins_jobs import JenkinsJobs
from services.syncer.kubevela import OamApplications, OamNamespaces
from services.syncer.provider import Provider
from services.syncer.tenancy import ChangeFollower, TenancyView

__all__ = ["Reconcilers", "SyncerOptions"]

logger = logging.getLogger(__name__)

K = TypeVar("K", int, str)


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


class _Enqueues(Protocol):
    """What a watch reports to: `enqueue` is set to the controller's once it runs."""

    enqueue: Callable[[int], None]


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
        argocd_group_pattern: str = DEFAULT_GROUP_PATTERN,
        credentials_namespace: str,
        options: SyncerOptions,
        revision: int = 0,
    ) -> None:
        self._devops = devops
        self._options = options
        self.view = TenancyView(devops)
        self.providers: list[Provider] = [
            AppProjects(
                api_client, self.view, argocd_namespace, group_pattern=argocd_group_pattern
            ),
            OamNamespaces(api_client, self.view),
        ]
        self.controllers: list[Controller[int]] = []  # those whose objects are listed
        self._first_pass = _FirstPass(provider.provider for provider in self.providers)
        self._follower = ChangeFollower(devops, self.view, self._changed, revision=revision)
        self.jenkins_jobs = JenkinsJobs(devops, self.view, resync_seconds=options.resync_seconds)
        self.jenkins_credentials = JenkinsCredentials(
            api_client,
            devops,
            self.view,
            namespace=credentials_namespace,
            resync_seconds=options.resync_seconds,
        )
        self.jenkins_jobs.credentials = self.jenkins_credentials
        self.oam_applications = OamApplications(api_client)
        self.jenkins_casc = JenkinsCasc(api_client, devops, retry_seconds=options.retry_seconds)
        self._follower.on_instances = self.jenkins_casc.changed
        self._follower.on_clusters = self.jenkins_casc.clusters_changed

    @property
    def ready(self) -> asyncio.Event:
        return self._first_pass.done

    @property
    def writes(self) -> int:
        """Writes this instance's controllers made: to the clusters (ConfigMaps of
        Configuration as Code included) and to Jenkins (folders, jobs pushed through
        devops-server, credentials)."""
        return (
            sum(provider.writes for provider in self.providers)
            + self.oam_applications.writes
            + self.jenkins_jobs.writes
            + self.jenkins_credentials.writes
            + self.jenkins_casc.writes
        )

    @property
    def revision(self) -> int:
        """The last tenancy change revision received; the next term resumes after it."""
        return self._follower.revision

    async def run(self) -> None:
        """Reconcile until cancelled."""
        await self._load_tenancy()
        async with asyncio.TaskGroup() as group:
            for provider in self.providers:
                group.create_task(self._run_provider(provider), name=provider.provider)
            group.create_task(self._follower.run(), name="tenancy-changes")
            group.create_task(self._run_jenkins_jobs(), name=JenkinsJobs.name)
            group.create_task(self._run_jenkins_credentials(), name=JenkinsCredentials.name)
            group.create_task(self._run_oam_applications(), name=OamApplications.name)
            group.create_task(self._run_jenkins_casc(), name=JenkinsCasc.name)

    def _controller(
        self,
        name: str,
        reconcile: Callable[[K], Awaitable[None]],
        list_keys: Callable[[], Awaitable[set[K]]],
    ) -> Controller[K]:
        options = self._options
        return Controller(
            name,
            reconcile,
            list_keys=list_keys,
            workers=options.workers,
            resync_seconds=options.resync_seconds,
            backoff_base=options.backoff_base,
            backoff_cap=options.backoff_cap,
        )

    async def _run_jenkins_jobs(self) -> None:
        """The Jenkins folders and jobs (`jenkins_jobs`): no watch, the change stream and the
        resync queue its keys. Not part of `ready`: a Jenkins down must not hold it back."""
        jobs = self.jenkins_jobs
        controller = self._controller(jobs.name, jobs.reconcile, jobs.keys)
        jobs.retry_after = controller.queue.add_after
        self.controllers.append(controller)
        try:
            await controller.run()
        finally:
            await jobs.close()

    async def _run_jenkins_credentials(self) -> None:
        """The credential Secrets mirrored into Jenkins folders (`credentials`), reconciled
        once the Secrets are listed, so none is mistaken for deleted. Not part of `ready`."""
        credentials = self.jenkins_credentials
        controller = self._controller(credentials.name, credentials.reconcile, credentials.keys)
        lister = credentials.list_watch()
        self.jenkins_jobs.credentials_listed = lister.synced  # a move waits for the listing
        try:
            await self._watch_then_run(lister, controller, credentials)
        finally:
            await credentials.close()

    async def _run_oam_applications(self) -> None:
        """The KubeVela Applications kept in their workspace's namespace, reconciled once
        they are listed. Not part of `ready`."""
        apps = self.oam_applications
        controller = self._controller(apps.name, apps.reconcile, apps.keys)
        await self._watch_then_run(apps.list_watch(), controller, apps)

    async def _run_jenkins_casc(self) -> None:
        """Each instance's Configuration as Code (`casc`). Not part of `ready`."""
        casc = self.jenkins_casc
        controller = self._controller(casc.name, casc.reconcile, casc.keys)
        casc.enqueue = controller.enqueue
        try:
            await controller.run()
        finally:
            await casc.close()

    async def _run_provider(self, provider: Provider) -> None:
        """Watch the provider's objects and, once they are listed, reconcile them. A
        provider whose objects cannot be listed (its CRD missing, its API failing) holds
        back only its own controller."""
        controller = self._controller(
            provider.provider, self._reconcile_of(provider), self._keys_of(provider)
        )
        await self._watch_then_run(provider.list_watch(), controller, provider)

    async def _watch_then_run(
        self, lister: ListWatch, controller: Controller[int], watcher: _Enqueues
    ) -> None:
        """Run the watch and, once it has listed, the controller: from then on the keys the
        watch reports go to the controller's queue."""
        name = controller.name
        async with asyncio.TaskGroup() as group:
            group.create_task(self._watch(name, lister), name=f"{name}-watch")
            await lister.synced.wait()
            watcher.enqueue = controller.enqueue
            self.controllers.append(controller)
            group.create_task(controller.run(), name=f"{name}-controller")

    async def _watch(self, name: str, lister: ListWatch) -> None:
        """Run the ListWatch for as long as this term lasts. It ends by raising on an API
        error other than 410 (a 404 while the CRD is missing, a 500); run it again after a
        pause. The same instance keeps what it knew, so its relist still reports objects
        deleted meanwhile."""
        while True:
            try:
                await lister.run()
            except ApiException as error:
                logger.warning(
                    "%s: cannot list or watch (%s %s); retrying",
                    name,
                    error.status,
                    error.reason,
                )
            await asyncio.sleep(self._options.retry_seconds)

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
