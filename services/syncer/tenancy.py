"""The desired tenancy state the reconcilers converge to, kept current from devops-server.

Every reconcile needs a workspace's bound namespaces, its clusters' server URLs and the Git
repositories its SCM pipelines build from. Asking devops-server for them on each reconcile
would cost four calls per key, and a thousand workspaces changing at once would queue
thousands of calls. So the syncer keeps a `TenancyView` in memory, as a Kubernetes
controller keeps an informer cache:

- `reload()` reads everything (workspaces, bindings, clusters, repositories: four calls) and
  replaces the view. It runs when the syncer starts leading, on every resync period, and
  whenever a burst of changes touches many workspaces or any cluster.
- `ChangeFollower` reads devops-server's `WatchChanges` stream, starting after the revision
  the first reload saw (or the last one it received, if later), resuming after the last
  revision it saw and reconnecting after any error. Changes arriving together are applied
  together (`batch_seconds`): a few workspaces are refreshed one by one (`GetWorkspace`,
  `ListBindings` and `ListRepositories` each); a larger burst, or any cluster change,
  reloads the whole view. It then hands the affected workspace ids to the controllers.

A `jenkins` change (an instance registered again or removed) affects no workspace here; its
instance name goes to `on_instances`, for the controller keyed by instance. The names of
changed clusters also go to `on_clusters`, awaited before the view is reloaded, for a
controller that keeps its own client of each member cluster: a cluster registered again
may have other credentials, or be another server altogether.

Which changes affect which workspaces: a workspace change affects that workspace; a binding
change (`7/member-1/team-a`) and a repository change (`7/build`: pipeline `build` of
workspace 7 names another Git repository) affect workspace 7; a cluster change affects
every workspace bound to that cluster before or after the change (removing a cluster
removes its bindings without a change of their own). Member changes affect nothing here:
Argo CD roles map to per-workspace groups, not to users.

Every read-and-replace holds one lock, so a slow reload can never overwrite the fresher
result of a refresh that finished after it started, nor the other way round. The view is
only as fresh as the last change applied; the controllers' periodic resync reloads it, so
even a change the stream somehow lost is seen within a period.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from workbench_sdk.devops.v1 import pipelines_pb2
from workbench_sdk.devops.v1 import tenancy_pb2 as pb

from libs.common.errors import NotFound
from libs.devops_client import DevopsClient

__all__ = ["ChangeFollower", "Destination", "TenancyView", "WorkspaceState"]

logger = logging.getLogger(__name__)

# Above this many workspaces in one burst, one reload is cheaper than a refresh each.
RELOAD_THRESHOLD = 16


@dataclass(frozen=True, order=True)
class Destination:
    """A namespace bound to a workspace, with its cluster's API server URL."""

    cluster: str
    server: str
    namespace: str


@dataclass(frozen=True)
class WorkspaceState:
    """What the providers need to know about one workspace."""

    id: int
    alias: str
    destinations: tuple[Destination, ...]
    repositories: tuple[str, ...] = ()  # Git URLs of its SCM pipelines, sorted


class TenancyView:
    """Workspaces, their bindings and the clusters' servers, as last read."""

    def __init__(self, devops: DevopsClient) -> None:
        self._devops = devops
        self._lock = asyncio.Lock()
        self._aliases: dict[int, str] = {}
        self._bindings: dict[int, list[pb.Binding]] = {}
        self._servers: dict[str, str] = {}
        self._repositories: dict[int, tuple[str, ...]] = {}
        self.loaded_at = 0.0  # time.monotonic() of the last full reload; 0 before the first
        # The change revision devops-server had reached when the last reload began (0 from
        # one that does not say): every later change is after it.
        self.revision = 0

    def workspace_ids(self) -> set[int]:
        return set(self._aliases)

    def workspace(self, workspace_id: int) -> WorkspaceState | None:
        """The desired state of one workspace; None if it does not exist."""
        alias = self._aliases.get(workspace_id)
        if alias is None:
            return None

        destinations = set()
        for binding in self._bindings.get(workspace_id, ()):
            server = self._servers.get(binding.cluster)
            # A binding may name a cluster registered after our last reload; the cluster
            # change that follows reloads the view and brings the destination in.
            if server is not None:
                destinations.add(Destination(binding.cluster, server, binding.namespace))
        repositories = self._repositories.get(workspace_id, ())
        return WorkspaceState(workspace_id, alias, tuple(sorted(destinations)), repositories)

    def bound_to(self, clusters: Iterable[str]) -> set[int]:
        """Workspaces with at least one namespace bound in one of `clusters`."""
        wanted = set(clusters)
        return {
            workspace_id
            for workspace_id, bindings in self._bindings.items()
            if any(binding.cluster in wanted for binding in bindings)
        }

    async def reload(self, *, max_age: float = 0.0) -> None:
        """Read the whole tenancy state, unless the last reload is younger than `max_age`
        seconds (so controllers resyncing together cause one reload)."""
        async with self._lock:
            if self.loaded_at and time.monotonic() - self.loaded_at < max_age:
                return

            call, tenancy = self._devops.call, self._devops.tenancy
            workspaces = await call(tenancy.ListWorkspaces, pb.ListWorkspacesRequest())
            bindings = await call(tenancy.ListBindings, pb.ListBindingsRequest())
            clusters = await call(tenancy.ListClusters, pb.ListClustersRequest())
            repositories = await self._read_repositories(0)

            self._aliases = {item.id: item.alias for item in workspaces.items}
            self._bindings = {}
            for binding in bindings.items:
                self._bindings.setdefault(binding.workspace_id, []).append(binding)
            self._servers = {item.name: item.server for item in clusters.items}
            self._repositories = repositories
            self.loaded_at = time.monotonic()
            self.revision = workspaces.revision
        logger.debug(
            "tenancy reloaded: %d workspaces, %d bindings, %d clusters",
            len(self._aliases),
            len(bindings.items),
            len(self._servers),
        )

    async def refresh(self, workspace_id: int) -> None:
        """Read one workspace and its bindings again."""
        async with self._lock:
            call, tenancy = self._devops.call, self._devops.tenancy
            try:
                found = await call(tenancy.GetWorkspace, pb.WorkspaceRef(id=workspace_id))
            except NotFound:
                self._aliases.pop(workspace_id, None)
                self._bindings.pop(workspace_id, None)
                self._repositories.pop(workspace_id, None)
                return

            request = pb.ListBindingsRequest(workspace_id=workspace_id)
            bindings = await call(tenancy.ListBindings, request)
            repositories = await self._read_repositories(workspace_id)
            self._aliases[workspace_id] = found.alias
            self._bindings[workspace_id] = list(bindings.items)
            self._repositories[workspace_id] = repositories.get(workspace_id, ())

    async def _read_repositories(self, workspace_id: int) -> dict[int, tuple[str, ...]]:
        """The repositories of one workspace (0: of all), by workspace."""
        request = pipelines_pb2.RepositoriesRequest(workspace_id=workspace_id)
        answer = await self._devops.call(self._devops.pipelines.ListRepositories, request)
        found: dict[int, list[str]] = {}
        for item in answer.items:
            found.setdefault(item.workspace_id, []).append(item.url)
        return {ws: tuple(sorted(urls)) for ws, urls in found.items()}


class ChangeFollower:
    """Follows devops-server's change stream into the view, reporting affected workspaces."""

    def __init__(
        self,
        devops: DevopsClient,
        view: TenancyView,
        notify: Callable[[set[int]], None],
        *,
        revision: int = 0,
        batch_seconds: float = 0.02,
        retry_seconds: float = 1.0,
    ) -> None:
        self._devops = devops
        self._view = view
        self._notify = notify
        self.on_instances: Callable[[set[str]], None] = lambda names: None
        self.on_clusters: Callable[[set[str]], Awaitable[None]] = _nothing
        self._batch_seconds = batch_seconds
        self._retry_seconds = retry_seconds
        self._pending: list[pb.Change] = []
        self._arrived = asyncio.Event()
        # The last revision received; the stream resumes after it, or after the revision
        # the view's reload saw if that is later (as a Kubernetes watch starts from the
        # resourceVersion of its list): a new process reads no history the reload holds.
        self.revision = revision

    async def run(self) -> None:
        """Follow until cancelled, from the later of `revision` and the view's (so the view
        must have been loaded once)."""
        self.revision = max(self.revision, self._view.revision)
        async with asyncio.TaskGroup() as group:
            group.create_task(self._read(), name="tenancy-changes-read")
            group.create_task(self._apply(), name="tenancy-changes-apply")

    async def _read(self) -> None:
        while True:
            request = pb.WatchChangesRequest(after_revision=self.revision)
            try:
                async for change in self._devops.stream(self._devops.tenancy.WatchChanges, request):
                    self.revision = change.revision
                    self._pending.append(change)
                    self._arrived.set()
                logger.info("tenancy change stream ended at %d; resuming", self.revision)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning(
                    "tenancy change stream failed at %d (%s); resuming in %.1fs",
                    self.revision,
                    error,
                    self._retry_seconds,
                )
                await asyncio.sleep(self._retry_seconds)

    async def _apply(self) -> None:
        while True:
            await self._arrived.wait()
            # Let the rest of a burst arrive, so it is applied as one batch.
            await asyncio.sleep(self._batch_seconds)
            self._arrived.clear()
            batch, self._pending = self._pending, []

            try:
                affected = await self._apply_batch(batch)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # Keep the batch: it is applied again, with anything newer, after a pause.
                logger.warning("tenancy changes could not be applied (%s); retrying", error)
                self._pending = batch + self._pending
                self._arrived.set()
                await asyncio.sleep(self._retry_seconds)
                continue

            if affected:
                self._notify(affected)

    async def _apply_batch(self, batch: list[pb.Change]) -> set[int]:
        workspaces: set[int] = set()
        clusters: set[str] = set()
        instances: set[str] = set()

        for change in batch:
            if change.kind in ("workspace", "binding", "repository"):
                workspace = change.key.split("/", 1)[0]
                if workspace.isdigit():
                    workspaces.add(int(workspace))
                else:  # never retried: it would block every change after it
                    logger.warning(
                        "tenancy change %d has a bad key %r", change.revision, workspace[:40]
                    )
            elif change.kind == "cluster":
                clusters.add(change.key)
            elif change.kind == "jenkins":
                instances.add(change.key)
        if instances:
            self.on_instances(instances)
        if clusters:
            await self.on_clusters(clusters)

        if clusters or len(workspaces) > RELOAD_THRESHOLD:
            before = self._view.bound_to(clusters)
            await self._view.reload()
            return workspaces | before | self._view.bound_to(clusters)

        for workspace_id in sorted(workspaces):
            await self._view.refresh(workspace_id)
        return workspaces


async def _nothing(clusters: set[str]) -> None:
    """The default `on_clusters`: no one keeps clients of member clusters."""
