"""Pushing pipeline definitions to Jenkins, and the loop that retries until they are there.

The database is the source of truth and Jenkins is where runs happen, so a save never waits
on Jenkins to succeed: the write commits (bumping `generation`), then one push is attempted
in the request, bounded by `request_timeout` so a slow Jenkins cannot hold the answer. A
failed push records its reason in `sync_error` and leaves the pipeline pending
(`generation > synced_generation`); the answer still carries the saved definition and says
it is not in Jenkins yet.

`SyncLoop` runs in every devops-server process (started in `DevopsServer.start`, stopped in
`stop`). It walks the pending pipelines (a partial index finds them), pushes each, and
sleeps: the idle interval when everything went through, an exponentially growing delay
(`base_delay` doubling up to `max_delay`) while pushes fail, so a Jenkins that is down is
not hammered and one that comes back is caught up within `max_delay`. A failed push in a
request wakes the loop early (`kick`).

A push is idempotent: ensure the workspace's folder, move the job if the pipeline was
renamed since the last push (`jenkins_name`), create or update the job from the generated
config.xml, then enable or disable it. Marking it done only records the generation that
was read before the push, so a change saved meanwhile stays pending.

IMPORTANT: one push of a pipeline at a time, across all replicas. Every devops-server
process pushes (saves, the loop, the syncer's convergence), so two of them can push one
pipeline at once; unordered, the older generation's config.xml could reach Jenkins last
while the newer one is recorded as synced, and nothing would ever push it again. So a push
holds the pipeline's push lock (`lock`) from reading the row until the push is recorded:
first an asyncio lock (pushes of one pipeline in one process queue in memory, not on
database connections), then a PostgreSQL advisory lock on the pipeline
(`PipelineStore.push_lock`) that other processes wait for. Whoever takes it next reads the
row afresh, so the generation pushed last is always the newest one read, and the record
(`mark_synced` keeps the greatest generation) never claims more than Jenkins holds. The
drift check and the convergence hold the same lock, so neither reads half of a push made
by another replica. A push waiting for the lock in a request is bounded by
`request_timeout` like any other; the loop pushes it later.

Deleting a pipeline records the removal of its job in the same transaction; the job is
deleted at once if Jenkins answers, else by the loop later (see `removals`).
`ResyncWorkspace` (the SDK) makes a whole workspace pending again, so the loop pushes every
job once more. A workspace moved to another instance needs no such call: the syncer
converges it there (`ConvergeWorkspace`, see `converge`), pushing only what is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable

from libs.common.background import BackgroundLoop
from libs.common.errors import WorkbenchError
from services.devops_server.ci.config_xml import config_xml
from services.devops_server.ci.definition import from_spec, opened
from services.devops_server.ci.instances import JenkinsPool
from services.devops_server.ci.pipelines import PipelineStore
from services.devops_server.ci.removals import PipelineRemoval
from services.devops_server.crypto import SecretBox
from services.devops_server.store.tables import Pipeline

logger = logging.getLogger(__name__)


class JobPusher:
    """Makes a pipeline's Jenkins job match its stored definition."""

    def __init__(
        self,
        store: PipelineStore,
        pool: JenkinsPool,
        box: SecretBox,
        *,
        request_timeout: float = 5.0,
        concurrency: int = 4,
    ) -> None:
        self._store = store
        self._pool = pool
        self._box = box
        # A push holds two database connections (its lock's and its reads'), while Jenkins
        # answers: bounded, so that a burst of saves cannot take the whole pool from reads.
        self._slots = asyncio.Semaphore(concurrency)
        # One lock per pipeline while anyone holds or awaits it.
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self.request_timeout = request_timeout
        # Drift (ci.resync): told the config.xml Jenkins holds after each push of ours.
        self.on_pushed: Callable[[int, str], Awaitable[None]] | None = None

    def job_xml(self, row: Pipeline) -> str:
        definition = from_spec(row.spec)
        definition.name = row.name
        definition.jenkinsfile = row.jenkinsfile
        definition.disabled = row.disabled
        return config_xml(opened(definition, self._box))

    async def push(self, pipeline_id: int, *, force: bool = False) -> str:
        """Push one pipeline if it is pending (or always, with `force`); "" or the reason."""
        async with self.lock(pipeline_id):
            return await self._push(pipeline_id, force=force)

    async def push_held(self, pipeline_id: int, *, force: bool = False) -> str:
        """`push` for a caller that holds `lock(pipeline_id)` already (`ci.converge`)."""
        return await self._push(pipeline_id, force=force)

    @contextlib.asynccontextmanager
    async def lock(self, pipeline_id: int) -> AsyncIterator[None]:
        """The lock pushes of one pipeline hold, in this process and then in PostgreSQL.

        The drift check and the convergence hold it too (see the module docstring). Between
        the two, a slot of `concurrency`: at most that many pipelines are pushed at once in
        one process (a holder never takes a second pipeline's lock, so slots cannot deadlock).
        """
        local = self._locks.get(pipeline_id)
        if local is None:
            local = self._locks[pipeline_id] = asyncio.Lock()

        async with local, self._slots, self._store.push_lock(pipeline_id):
            yield

    async def push_in_request(self, pipeline_id: int, *, force: bool = False) -> str:
        """`push`, bounded by `request_timeout`: a slow Jenkins must not hold a save's answer.

        The write has committed already; a push cut short leaves the pipeline pending with
        the reason, and the loop finishes the job (a push is idempotent).
        """
        try:
            async with asyncio.timeout(self.request_timeout):
                return await self.push(pipeline_id, force=force)
        except TimeoutError:
            reason = (
                f"not pushed yet: Jenkins did not answer within {self.request_timeout:g} s; "
                "retrying in the background"
            )
            await self._store.mark_failed(pipeline_id, reason)
            return reason

    async def _push(self, pipeline_id: int, *, force: bool) -> str:
        row = await self._store.get_by_id(pipeline_id)
        if row is None or (row.generation <= row.synced_generation and not force):
            return ""
        generation = row.generation
        folder = (str(row.workspace_id),)
        instance = ""

        try:
            instance, jenkins = await self._pool.for_workspace(row.workspace_id)
            await jenkins.ensure_folder(folder)
            job = (*folder, row.name)
            if row.jenkins_name and row.jenkins_name != row.name:
                old = (*folder, row.jenkins_name)
                if await jenkins.item_exists(old) and not await jenkins.item_exists(job):
                    await jenkins.rename_job(old, row.name)
            await jenkins.create_or_update_job(job, self.job_xml(row))
            if row.disabled:
                await jenkins.disable_job(job)
            else:
                await jenkins.enable_job(job)
            held = await jenkins.get_job_config(job) if self.on_pushed is not None else ""
        except WorkbenchError as error:
            where = f"Jenkins {instance!r}" if instance else "Jenkins"
            reason = f"not pushed to {where}: {error.message}"
            logger.warning(
                "pipeline push failed: workspace=%s pipeline=%s reason=%s",
                row.workspace_id,
                row.name,
                reason,
            )
            await self._store.mark_failed(pipeline_id, reason)
            return reason

        await self._store.mark_synced(pipeline_id, generation, row.name)
        if self.on_pushed is not None:
            await self.on_pushed(pipeline_id, held)
        logger.info(
            "pipeline pushed: workspace=%s pipeline=%s generation=%s instance=%s",
            row.workspace_id,
            row.name,
            generation,
            instance,
        )
        return ""

    async def remove(self, removal: PipelineRemoval) -> str:
        """Delete a deleted pipeline's job, then forget the removal; "" or the reason."""
        if await self._store.exists(removal.workspace_id, removal.job_name):
            # A pipeline of that name exists again: the job is its job now.
            await self._store.forget_removal(removal.id)
            return ""

        try:
            _, jenkins = await self._pool.for_workspace(removal.workspace_id)
            job = (str(removal.workspace_id), removal.job_name)
            await jenkins.delete_item(job, missing_ok=True)
        except WorkbenchError as error:
            logger.warning(
                "pipeline job not deleted yet: workspace=%s job=%s reason=%s",
                removal.workspace_id,
                removal.job_name,
                error.message,
            )
            return f"job not deleted: {error.message}"

        await self._store.forget_removal(removal.id)
        return ""


class SyncLoop(BackgroundLoop):
    """Retries pending pushes with exponential backoff until Jenkins has every definition."""

    task_name = "pipeline-sync"

    def __init__(
        self,
        store: PipelineStore,
        pusher: JobPusher,
        *,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        idle: float = 15.0,
    ) -> None:
        self._store = store
        self._pusher = pusher
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.idle = idle
        super().__init__()

    async def pass_once(self) -> bool:
        """Delete the jobs of deleted pipelines, push every pending pipeline; True if all went."""
        clean = True
        after = 0

        for removal in await self._store.removals():
            if await self._pusher.remove(removal):
                clean = False

        while True:
            batch = await self._store.pending(after)
            if not batch:
                return clean
            for pipeline_id in batch:
                after = pipeline_id
                if await self._pusher.push(pipeline_id):
                    clean = False

    async def _run(self) -> None:
        delay = self.base_delay

        while True:
            # Cleared before the pass: a kick during it means another pass right after.
            self._wake.clear()
            try:
                clean = await self.pass_once()
            except Exception:
                logger.exception("pipeline sync pass failed")
                clean = False

            if clean:
                delay = self.base_delay
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.idle):
                        await self._wake.wait()
            else:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_delay)
