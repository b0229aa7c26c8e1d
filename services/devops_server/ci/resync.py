"""What events cannot guarantee: drift is checked against Jenkins, missed builds imported.

`Resync` is one small loop per devops-server process (started and stopped with the server).
Each pass does two cheap things:

- Drift checks. An item event only notes a suspicion (`drift_hint`, see `events.items`);
  the pass reads each suspected job's config.xml, holding the pipeline's push lock so it
  never reads half of one of our own pushes, and compares its SHA-256 with the one recorded
  right after our last push (`remember_pushed`, the pusher's `on_pushed` hook; the config
  is read back from Jenkins after the push, so Jenkins's re-serialisation is part of the
  baseline). Different -> "drift: configuration changed in Jenkins"; missing -> deleted or
  moved. Drift goes in `sync_error`, starting "drift:"; the pipeline is not made pending,
  so the sync loop leaves it alone: `:sync` (or any save) pushes the stored definition and
  clears it at once, the syncer's convergence of the workspace (`ci.converge`) on its next
  pass. A pipeline already pending is not checked (its push overwrites
  Jenkins anyway), nor one pushed before drift detection existed (no baseline: the next
  push makes one). Each new drift counts in `workbench_drift_detected_total{kind}`.
- Missed builds. Per workspace folder that holds pushed pipelines, one
  `api/json?tree=jobs[name,nextBuildNumber,lastBuild[number]]` call; a job whose last build
  number is above the highest Workbench knows on that instance (a workspace moved to
  another instance numbers its builds from 1 again) has builds whose events were lost. Each
  (at most `import_limit` per job and pass, newest kept) is read with `build_info` and
  applied exactly as its event would have been (`events.runs.apply_run_event`: imported as a
  run, or, for a build Workbench queued, matched by its queue id), under a lock on the
  pipeline row. Imports count in `workbench_resync_imported_total`. With events flowing
  the pass finds nothing and costs one request per workspace per `interval`.

An item event wakes the loop (after `settle` seconds, so the event's transaction has
committed and bursts are checked once); otherwise it runs every `interval`.

Known gaps: a job re-created after a deletion restarts its build numbers at 1, below what
Workbench knows, so its first builds are not imported until its numbers pass the old ones;
an event applier and the import racing on the same new build may both import it (the event
path takes no lock before looking the run up).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.background import BackgroundLoop
from libs.common.errors import WorkbenchError
from libs.jenkins import JenkinsNotFound
from services.devops_server.ci.instances import JenkinsPool
from services.devops_server.ci.sync import JobPusher
from services.devops_server.events.envelope import Envelope
from services.devops_server.events.items import describe
from services.devops_server.events.runs import apply_run_event
from services.devops_server.store.tables import Pipeline, Run

logger = logging.getLogger(__name__)

DRIFT_DETECTED = Counter(
    "workbench_drift_detected_total", "Pipeline jobs found changed in Jenkins", ["kind"]
)
RESYNC_IMPORTED = Counter(
    "workbench_resync_imported_total", "Builds imported by the resync loop (their events lost)"
)

CHANGED = "drift: configuration changed in Jenkins"


def sha(config: str) -> str:
    return hashlib.sha256(config.encode("utf-8")).hexdigest()


class Resync(BackgroundLoop):
    task_name = "pipeline-resync"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        pool: JenkinsPool,
        pusher: JobPusher,
        *,
        interval: float = 60.0,
        settle: float = 0.2,
        import_limit: int = 20,
    ) -> None:
        self._sessions = sessions
        self._pool = pool
        self._pusher = pusher
        self.interval = interval
        self.settle = settle
        self.import_limit = import_limit
        super().__init__()

    async def remember_pushed(self, pipeline_id: int, config: str) -> None:
        """The pusher's hook: Jenkins holds `config` after our push; any drift is gone."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Pipeline)
                .where(Pipeline.id == pipeline_id)
                .values(pushed_config_sha=sha(config), drift_hint="")
            )

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            await asyncio.sleep(self.settle)
            self._wake.clear()
            try:
                await self.pass_once()
            except Exception:
                logger.exception("resync pass failed")

    async def pass_once(self) -> None:
        await self.check_drift()
        await self.import_missed()

    # Drift.

    async def check_drift(self) -> int:
        """Check every suspected pipeline; how many drifted."""
        async with self._sessions() as session:
            ids = list(await session.scalars(select(Pipeline.id).where(Pipeline.drift_hint != "")))
        found = 0
        for pipeline_id in ids:
            async with self._pusher.lock(pipeline_id):
                try:
                    found += await self._check(pipeline_id)
                except WorkbenchError as error:
                    logger.warning("drift check of pipeline %s failed: %s", pipeline_id, error)
        return found

    async def _check(self, pipeline_id: int) -> int:
        async with self._sessions() as session:
            row = await session.get(Pipeline, pipeline_id)
        if row is None or not row.drift_hint:
            return 0
        hint = row.drift_hint
        verdict = ""
        kind = ""
        if row.generation <= row.synced_generation and row.pushed_config_sha:
            _, jenkins = await self._pool.for_workspace(row.workspace_id)
            try:
                held = await jenkins.get_job_config((str(row.workspace_id), row.jenkins_name))
            except JenkinsNotFound:
                verdict = describe(hint)
                kind = "moved" if hint.startswith("moved:") else "deleted"
            else:
                if sha(held) != row.pushed_config_sha:
                    verdict, kind = CHANGED, "changed"

        async with self._sessions.begin() as session:
            values: dict[str, Any] = {"drift_hint": ""}
            if verdict:
                values["sync_error"] = verdict
            # Only the hint seen: an event noted meanwhile is checked on the next pass.
            changed = await session.scalar(
                update(Pipeline)
                .where(Pipeline.id == pipeline_id, Pipeline.drift_hint == hint)
                .values(**values)
                .returning(Pipeline.id)
            )
        if not verdict or changed is None or row.sync_error == verdict:
            return 0
        DRIFT_DETECTED.labels(kind=kind).inc()
        logger.warning(
            "pipeline drift: workspace=%s pipeline=%s %s", row.workspace_id, row.name, verdict
        )
        return 1

    # Missed builds.

    async def import_missed(self) -> int:
        """Import the builds Jenkins has and Workbench does not know; how many."""
        async with self._sessions() as session:
            workspaces = list(
                await session.scalars(
                    select(Pipeline.workspace_id).where(Pipeline.jenkins_name != "").distinct()
                )
            )
        imported = 0
        for workspace_id in workspaces:
            try:
                imported += await self._import_workspace(workspace_id)
            except WorkbenchError as error:
                logger.warning("resync of workspace %s failed: %s", workspace_id, error.message)
        if imported:
            RESYNC_IMPORTED.inc(imported)
        return imported

    async def _import_workspace(self, workspace_id: int) -> int:
        instance, jenkins = await self._pool.for_workspace(workspace_id)
        folder = (str(workspace_id),)
        try:
            jobs = await jenkins.job_activity(folder)
        except JenkinsNotFound:
            return 0
        last_builds: dict[str, int] = {}
        for job in jobs:
            last = job.get("lastBuild")
            number = last.get("number") if isinstance(last, dict) else None
            if isinstance(number, int) and isinstance(job.get("name"), str):
                last_builds[job["name"]] = number
        if not last_builds:
            return 0

        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Pipeline.id, Pipeline.jenkins_name, func.max(Run.build_number))
                    # Builds on this instance only: a moved workspace's numbers start at 1.
                    .outerjoin(Run, (Run.pipeline_id == Pipeline.id) & (Run.jenkins == instance))
                    .where(
                        Pipeline.workspace_id == workspace_id,
                        Pipeline.jenkins_name.in_(list(last_builds)),
                    )
                    .group_by(Pipeline.id, Pipeline.jenkins_name)
                )
            ).all()

        imported = 0
        for pipeline_id, job_name, known in rows:
            last = last_builds[job_name]
            first = max((known or 0) + 1, last - self.import_limit + 1)
            for number in range(first, last + 1):
                try:
                    info = await jenkins.build_info((*folder, job_name), number)
                except JenkinsNotFound:
                    continue  # deleted in Jenkins meanwhile
                if await self._apply(pipeline_id, workspace_id, job_name, instance, info):
                    imported += 1
        return imported

    async def _apply(
        self, pipeline_id: int, workspace_id: int, job: str, instance: str, info: dict[str, Any]
    ) -> bool:
        """Apply a build as its lost event would have been; True if it became a new run."""
        data = {**info, "_parentFullName": str(workspace_id), "_projectName": job}
        event = Envelope(
            id=f"resync:{instance}:{workspace_id}/{job}#{info.get('number')}",
            type="run.started" if info.get("building") else "run.completed",
            time=datetime.now(UTC),
            data=data,
        )
        async with self._sessions.begin() as session:
            # Serialises with other replicas' passes over the same pipeline.
            await session.execute(
                select(Pipeline.id).where(Pipeline.id == pipeline_id).with_for_update()
            )
            outcome = await apply_run_event(session, event, instance)
        logger.info("resync: %s/%s #%s: %s", workspace_id, job, info.get("number"), outcome)
        return outcome.startswith("imported")
