"""Each workspace's folder and jobs on its Jenkins instance, and moving them to another one.

One controller keyed by workspace id (`jenkins-jobs`), with the queue, backoff, resync and
metrics every syncer controller has. Its reconcile of workspace `7` compares the whole
desired state with the whole actual state, told nothing about why it runs:

1. `GetWorkspaceCI` says which instance the workspace uses now and which ones it used before
   whose folder is still there (`previous`). A workspace gone, or one with no instance, has
   nothing to converge.
2. The folder `7` is ensured on the current instance (a read, a create only if missing),
   through `libs.jenkins` with the access `GetInstanceAccess` hands out.
3. `ConvergeWorkspace` asks devops-server, which owns the definitions and generates the
   config.xml, to make every pipeline's job on that instance match (see
   `services.devops_server.ci.converge`): missing or hand-edited jobs are pushed again,
   unchanged ones cost a read. The answer names every job by outcome.
4. The folder is listed. Jobs Workbench does not know are reported (a warning when the set
   changes, and `workbench_syncer_jenkins_unknown_jobs{instance}`), never deleted.
5. Complete means every pipeline's job is listed in the folder and none failed, and, while
   a move is unfinished, that the folder also holds every credential of the workspace as
   the `jenkins-credentials` controller renders it (`credentials.missing`, asked only once
   that controller has listed the credential Secrets). Anything less raises, so the key is
   retried with its backoff.
6. Only when complete, each previous instance is cleaned: the jobs of the workspace's
   pipelines are deleted from its folder `7`, then the folder itself (with the credentials
   in it), unless it still holds jobs Workbench does not know: those are never deleted, so
   the folder stays and is reported as unknown from then on. devops-server is then told to
   forget the instance (`ForgetPreviousJenkins`). A previous instance that still runs
   builds of the workspace (`unfinished_runs`) is left alone and the key looked at again
   after `wait_seconds`: the builds finish there and keep their history, since every run
   records its instance. A previous instance unregistered meanwhile is simply forgotten.

So moving a workspace is `SetWorkspaceJenkins`: devops-server records the move as a
workspace change, the change stream queues the key, and the reconcile above converges the
new instance, then cleans the old one. A workspace that chose no instance moves the same way
when the instance it follows changes (a new default registered, or the one it followed
removed; see `services.devops_server.ci.instances`); one left with no instance at all (two
registered, none default) keeps its old folder until a default gives it a new one. Runs
asked for after the move start on the new instance (the dispatcher reads the workspace's
instance per pass); a run asked for before its job exists there waits in QUEUE until this
reconcile has pushed it.

The new instance numbers builds from 1 again, so a run is always told apart by the
instance it was handed to (`runs.jenkins`): Jenkins events look their run up by pipeline and
build number, or the first time by queue item, among the runs of the instance the event came
from (event-proxy names it) and runs not handed to any instance yet (see
`services.devops_server.events.runs`); the dispatcher polls each run on its own instance, and
the resync loop counts the builds it knows per instance. A build of the new instance never
moves a run of the old one.

On every resync the top level of each registered instance is listed too: an item that is not
the folder of a workspace using that instance (now or before a move not finished yet) is
reported the same way (`workbench_syncer_jenkins_unknown_folders{instance}`), and left
alone. That includes the folder of a deleted workspace, and one a workspace left behind:
Workbench removes nothing it cannot vouch for.

Writes (folders created, pushes devops-server made, old folders deleted) count in
`workbench_syncer_repairs_total{provider="jenkins-jobs"}`; a converged system makes none. An
instance that does not answer fails only the keys of the workspaces on it: each backs off on
its own while the others go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from google.protobuf import empty_pb2
from prometheus_client import Gauge
from workbench_sdk.devops.v1 import jenkins_pb2, pipelines_pb2

from libs.common.errors import NotFound
from libs.devops_client import DevopsClient
from libs.jenkins import JenkinsClient
from services.syncer.instances import InstanceClients
from services.syncer.provider import REPAIRS
from services.syncer.tenancy import TenancyView

__all__ = ["JenkinsJobs"]

logger = logging.getLogger(__name__)

UNKNOWN_JOBS = Gauge(
    "workbench_syncer_jenkins_unknown_jobs",
    "Jobs in workspace folders that no pipeline owns (reported, never deleted).",
    ["instance"],
)
UNKNOWN_FOLDERS = Gauge(
    "workbench_syncer_jenkins_unknown_folders",
    "Top-level items of an instance that are no workspace's folder (reported, never deleted).",
    ["instance"],
)


class Incomplete(Exception):
    """The current instance does not have every job yet; the key is retried."""


class CredentialsCheck(Protocol):
    """What a move asks the credentials reconciler (`credentials.JenkinsCredentials`)."""

    async def missing(self, workspace_id: int, jenkins: JenkinsClient) -> set[str]: ...


class JenkinsJobs:
    """The reconcile and key listing of the `jenkins-jobs` controller."""

    name = "jenkins-jobs"

    def __init__(
        self,
        devops: DevopsClient,
        view: TenancyView,
        *,
        resync_seconds: float = 300.0,
        wait_seconds: float = 10.0,
    ) -> None:
        self._devops = devops
        self._view = view
        self._resync_seconds = resync_seconds
        self.wait_seconds = wait_seconds
        self.retry_after: Callable[[int, float], None] = lambda workspace_id, delay: None
        self.writes = 0
        # Set by `Reconcilers`: a move waits for the credentials too, once they are listed.
        self.credentials: CredentialsCheck | None = None
        self.credentials_listed = asyncio.Event()
        self._instances = InstanceClients(devops)
        self._unknown_jobs: dict[int, tuple[str, frozenset[str]]] = {}
        self._unknown_folders: dict[str, frozenset[str]] = {}
        # Where each reconciled workspace may have its folder: its current and previous ones.
        self._placed: dict[int, frozenset[str]] = {}
        self._reporting: asyncio.Task[None] | None = None

    async def close(self) -> None:
        if self._reporting is not None:
            self._reporting.cancel()
            await asyncio.gather(self._reporting, return_exceptions=True)
        await self._instances.close()

    # The keys.

    async def keys(self) -> set[int]:
        """Every workspace. Each instance's top level is listed beside, in a task of its own,
        so an instance slow to answer delays no key."""
        await self._view.reload(max_age=self._resync_seconds / 2)
        workspaces = self._view.workspace_ids()
        if self._reporting is None or self._reporting.done():
            self._reporting = asyncio.create_task(
                self._report_unknown_folders(workspaces), name="jenkins-unknown-folders"
            )
        return workspaces

    async def _report_unknown_folders(self, workspaces: set[int]) -> None:
        try:
            listed = await self._devops.call(self._devops.jenkins.ListJenkins, empty_pb2.Empty())
        except Exception as error:  # the next resync tries again
            logger.info("jenkins instances not listed (%s)", error)
            return

        for instance in listed.items:
            try:
                jenkins = await self._instances.client(instance.name)
                items = await jenkins.list_jobs()
            except Exception as error:  # the keys of that instance report the failure
                logger.info("jenkins %s: top level not listed (%s)", instance.name, error)
                continue

            # A workspace not reconciled yet is given the benefit of the doubt.
            folders = {
                str(workspace)
                for workspace in workspaces
                if instance.name in self._placed.get(workspace, {instance.name})
            }
            unknown = frozenset(item["name"] for item in items) - folders
            if unknown != self._unknown_folders.get(instance.name, frozenset()):
                if unknown:
                    logger.warning(
                        "jenkins %s: items Workbench does not know at the top level "
                        "(left alone): %s",
                        instance.name,
                        ", ".join(sorted(unknown)[:20]),
                    )
                self._unknown_folders[instance.name] = unknown
            UNKNOWN_FOLDERS.labels(instance.name).set(len(unknown))

    # The reconcile.

    async def reconcile(self, workspace_id: int) -> None:
        call, devops = self._devops.call, self._devops
        try:
            ci = await call(devops.jenkins.GetWorkspaceCI, _ci_ref(workspace_id))
        except NotFound:
            self._set_unknown_jobs(workspace_id, "", frozenset())
            self._placed.pop(workspace_id, None)
            return
        self._placed[workspace_id] = frozenset([ci.jenkins, *(p.name for p in ci.previous)])
        if not ci.jenkins:
            return

        folder = (str(workspace_id),)
        jenkins = await self._instances.client(ci.jenkins)
        if not await jenkins.item_exists(folder):
            await jenkins.ensure_folder(folder)
            self._wrote("created", ci.jenkins, workspace_id, "folder")

        key = pipelines_pb2.WorkspaceKey(workspace_id=workspace_id)
        result = await call(devops.pipelines.ConvergeWorkspace, key)
        if result.jenkins != ci.jenkins:
            raise Incomplete(f"moved to {result.jenkins!r} while converging; again")
        for name in result.created:
            self._wrote("created", ci.jenkins, workspace_id, f"job {name}")
        for name in result.updated:
            self._wrote("updated", ci.jenkins, workspace_id, f"job {name}")

        listed = frozenset(item["name"] for item in await jenkins.list_jobs(folder))
        wanted = frozenset([*result.created, *result.updated, *result.unchanged, *result.failed])
        self._set_unknown_jobs(workspace_id, ci.jenkins, listed - wanted)

        missing = wanted - listed
        if missing or result.failed:
            reasons = "; ".join(f"{name}: {why}" for name, why in sorted(result.failed.items()))
            raise Incomplete(
                f"{len(missing | set(result.failed))} of {len(wanted)} jobs not in Jenkins "
                f"{ci.jenkins!r} yet{': ' + reasons if reasons else ''}"
            )

        if ci.previous and self.credentials is not None:
            await self._check_credentials(workspace_id, ci.jenkins, jenkins)
        for previous in ci.previous:
            await self._clean(workspace_id, previous, wanted)

    async def _check_credentials(
        self, workspace_id: int, instance: str, jenkins: JenkinsClient
    ) -> None:
        """Raise unless the instance has every credential of the workspace."""
        assert self.credentials is not None
        if not self.credentials_listed.is_set():
            raise Incomplete("the credential Secrets are not listed yet")
        missing = await self.credentials.missing(workspace_id, jenkins)
        if missing:
            raise Incomplete(
                f"credentials not in Jenkins {instance!r} yet: {', '.join(sorted(missing))}"
            )

    async def _clean(
        self, workspace_id: int, previous: jenkins_pb2.PreviousJenkins, jobs: frozenset[str]
    ) -> None:
        """Remove the workspace's jobs from an instance it used before, and the folder with
        them unless something Workbench does not know is left in it; then forget it."""
        if previous.unfinished_runs:
            logger.info(
                "workspace %d: Jenkins %s still runs %d of its builds; its folder waits",
                workspace_id,
                previous.name,
                previous.unfinished_runs,
                extra={"workspace": workspace_id},
            )
            self.retry_after(workspace_id, self.wait_seconds)
            return

        folder = (str(workspace_id),)
        try:
            old = await self._instances.client(previous.name)
        except NotFound:
            logger.info("workspace %d: Jenkins %s is gone; forgotten", workspace_id, previous.name)
        else:
            if await old.item_exists(folder):
                await self._empty(old, previous.name, workspace_id, jobs)

        ref = jenkins_pb2.WorkspaceJenkins(workspace_id=workspace_id, name=previous.name)
        await self._devops.call(self._devops.jenkins.ForgetPreviousJenkins, ref)

    async def _empty(
        self, old: JenkinsClient, instance: str, workspace_id: int, jobs: frozenset[str]
    ) -> None:
        folder = (str(workspace_id),)
        listed = frozenset(item["name"] for item in await old.list_jobs(folder))

        for name in sorted(listed & jobs):
            await old.delete_item((*folder, name), missing_ok=True)
            self._wrote("deleted", instance, workspace_id, f"job {name}")

        left = listed - jobs
        if left:
            # Reported as an unknown folder from now on, since the workspace is not there.
            logger.warning(
                "workspace %d: its old folder in Jenkins %s is kept, it holds jobs no "
                "pipeline owns: %s",
                workspace_id,
                instance,
                ", ".join(sorted(left)[:20]),
                extra={"workspace": workspace_id},
            )
            return
        await old.delete_item(folder, missing_ok=True)
        self._wrote("deleted", instance, workspace_id, "folder")

    # Helpers.

    def _set_unknown_jobs(self, workspace_id: int, instance: str, unknown: frozenset[str]) -> None:
        before = self._unknown_jobs.pop(workspace_id, ("", frozenset()))
        if unknown:
            self._unknown_jobs[workspace_id] = (instance, unknown)
            if before != (instance, unknown):
                logger.warning(
                    "workspace %d: jobs no pipeline owns in Jenkins %s (left alone): %s",
                    workspace_id,
                    instance,
                    ", ".join(sorted(unknown)[:20]),
                    extra={"workspace": workspace_id},
                )

        for name in {instance, before[0]} - {""}:
            count = sum(len(jobs) for where, jobs in self._unknown_jobs.values() if where == name)
            UNKNOWN_JOBS.labels(name).set(count)

    def _wrote(self, action: str, instance: str, workspace_id: int, what: str) -> None:
        self.writes += 1
        REPAIRS.labels(self.name, action).inc()
        logger.info(
            "%s: %s %s of workspace %d in Jenkins %s",
            self.name,
            action,
            what,
            workspace_id,
            instance,
            extra={"provider": self.name, "workspace": workspace_id},
        )

    def unknown_jobs(self, workspace_id: int) -> frozenset[str]:
        """The jobs last reported as unknown in the workspace's folder."""
        return self._unknown_jobs.get(workspace_id, ("", frozenset()))[1]


def _ci_ref(workspace_id: int) -> jenkins_pb2.WorkspaceCIRef:
    return jenkins_pb2.WorkspaceCIRef(workspace_id=workspace_id)
