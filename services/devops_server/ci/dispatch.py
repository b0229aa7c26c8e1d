"""The run dispatcher: hands waiting runs to Jenkins within each workspace's run cap, and keeps
unfinished runs current from Jenkins.

Decisions:
- `:run` only stores the run (state QUEUE, no `queue_id`) and wakes the dispatcher; the
  dispatcher starts it in Jenkins. So a run is readable in QUEUE as soon as it is asked for,
  whatever Jenkins is doing, and one code path starts every run, capped or not.
- The cap (`workspace_ci.max_concurrent_runs`, 0 = none) counts a workspace's unfinished runs
  that Jenkins has; beyond it, runs wait in Workbench's queue and start oldest first as others
  end. Each workspace is dispatched under `pg_try_advisory_xact_lock`, so replicas sharing the
  database never start the same run twice nor overshoot the cap. If the process dies between
  Jenkins accepting a build and the commit, the run is started again on the next pass: the
  price of not keeping a transaction across processes.
- Jenkins down when a run should start: the run stays QUEUE and is tried again on every pass;
  once it has waited `give_up_after` seconds (default 10 minutes) it ends in ERROR with a
  description saying Jenkins did not answer. Jenkins refusing the build (no such job, job
  disabled, bad parameters) ends it in ERROR at once, with Jenkins's reason.
- A workspace moving to another instance (`previous_jenkins` not empty) starts its runs on
  the new one at once; a job the syncer has not put there yet is waited for like a Jenkins
  that is down (the run stays QUEUE, up to `give_up_after`), not refused.
- A pipeline saved while Jenkins could not take it (`generation > synced_generation`) has no
  job there yet, or an older one: its runs wait, and the dispatcher pushes the job itself
  (`JobPusher`, bounded like a push in a request) before it starts them, so a run asked for
  right after Jenkins comes back neither waits for the sync loop's backoff nor ends in
  ERROR on a job Jenkins does not have. A push that keeps failing is waited for like a
  Jenkins that is down (QUEUE, up to `give_up_after`, then ERROR with the push's reason),
  and tried again no sooner than `push_every` seconds later, so a Jenkins that is down is
  not asked on every pass (the sync loop keeps trying too, with its own backoff).
- Builds are queued with no quiet period: Jenkins folds identical requests into one pending
  queue item, and a quiet period would fold two runs asked for together into one build. A
  request folded all the same (an identical run waits behind a build of a job that forbids
  concurrent builds) is noticed by its queue item id, already another run's: the run stays
  in Workbench's queue and is tried again on a later pass.
- A pass runs whenever woken (a run asked for here; a run ended anywhere, which the database
  announces on `runs_ended` to every replica's dispatcher) and every `interval` seconds; it
  dispatches, and, at most once per `interval`, refreshes at most `batch` unfinished runs
  that Jenkins has, least recently updated first, eight Jenkins calls at a time: queue item
  -> build number -> build info, then pending input for a building run (PAUSED). Finished
  runs are never polled. Jenkins events (`events.runs`) move runs through the same state
  machine, so most of these polls find nothing to change; they repair what events missed.
- A run cancelled while Jenkins is being asked to start it stays cancelled: the dispatcher
  records a queue item only on a run still in QUEUE, and withdraws the build otherwise.
- A queue item Jenkins has forgotten before Workbench learnt its build number (Jenkins
  answers for an item about five minutes after it left the queue, and not at all after a
  restart) is looked for among the job's builds, each of which names the queue item it came
  from (`queueId`); the run follows that build from then on. Only when no build came from
  it (the item was cancelled, or Jenkins lost it) is the run UNKNOWN.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import func, select, update

from libs.common.background import cancel_and_wait
from libs.common.errors import FailedPrecondition, NotFound
from libs.jenkins import JenkinsClient, JenkinsError, JenkinsNotFound, JenkinsUnreachable
from services.devops_server.ci import params, states
from services.devops_server.ci.instances import InstanceStore, JenkinsPool
from services.devops_server.ci.runs import DISPATCH_LOCK, RunStore, now
from services.devops_server.ci.sync import JobPusher
from services.devops_server.crypto import SecretBox
from services.devops_server.store.tables import Pipeline, Run

logger = logging.getLogger(__name__)

Path = tuple[str, str]

# Notified with the workspace id when a run reaches a final state (migration 0005).
ENDED_CHANNEL = "runs_ended"

# Why a run waited too long while its workspace moved to another Jenkins.
MOVING = (
    "the workspace moved to another Jenkins instance and the job was not there in time; "
    "run the pipeline again"
)

# Why a run waited too long for its pipeline's job to reach Jenkins (the push's reason follows).
UNSYNCED = "the pipeline's job did not reach Jenkins in time, so the run was never started"

# Jenkins calls a refresh pass makes at once.
REFRESH_CONCURRENCY = 8


def job_path(workspace_id: int, pipeline: str) -> Path:
    """The Jenkins job of a pipeline: `<workspaceId>/<pipelineName>`."""
    return (str(workspace_id), pipeline)


def _moment(millis: object) -> datetime | None:
    if not isinstance(millis, int | float) or millis <= 0:
        return None
    return datetime.fromtimestamp(millis / 1000, UTC)


class Dispatcher:
    def __init__(
        self,
        store: RunStore,
        instances: InstanceStore,
        pool: JenkinsPool,
        box: SecretBox,
        *,
        pusher: JobPusher | None = None,
        push_every: float = 5.0,
        interval: float = 2.0,
        give_up_after: float = 600.0,
        batch: int = 200,
        dsn: str | None = None,
    ) -> None:
        self.store = store
        self.instances = instances
        self.pool = pool
        self.box = box
        self.pusher = pusher
        self.push_every = push_every
        # Pipeline id -> when the dispatcher last failed to push its job (loop time).
        self._push_failed: dict[int, float] = {}
        self.interval = interval
        self.give_up_after = give_up_after
        self.batch = batch
        self._wake = asyncio.Event()
        self._refreshed = 0.0
        self._dsn = dsn
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None

    # Life cycle.

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._loop(), name="run-dispatcher")
        if self._dsn:
            self._listener = loop.create_task(self._listen(self._dsn), name="runs-ended-listen")

    async def stop(self) -> None:
        for task in (self._listener, self._task):
            if task is not None:
                await cancel_and_wait(task)
        self._task = self._listener = None

    async def _listen(self, dsn: str) -> None:
        """Wake on `runs_ended` (migration 0005): a run ended somewhere, a place may be free."""
        while True:
            try:
                await self._listen_once(dsn)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("runs LISTEN connection lost; reconnecting", exc_info=True)
            await asyncio.sleep(1)

    async def _listen_once(self, dsn: str) -> None:
        connection = await asyncpg.connect(dsn)
        try:
            closed = asyncio.Event()
            connection.add_termination_listener(lambda *_: closed.set())
            await connection.add_listener(ENDED_CHANNEL, lambda *_: self.kick())
            self.kick()  # whatever ended while not listening
            while not connection.is_closed():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(5):
                        await closed.wait()
        finally:
            await connection.close()

    def kick(self) -> None:
        """Run a pass now: a run was asked for, or one ended and freed a slot."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                await self.pass_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("a dispatcher pass failed; trying again on the next one")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()

    async def pass_once(self, *, refresh: bool | None = None) -> None:
        """Start what may start; refresh unfinished runs if `interval` has passed since the
        last refresh (or when `refresh` says so), a few Jenkins calls at a time."""
        for workspace_id in await self.store.workspaces_waiting():
            await self.dispatch(workspace_id)
        clock = asyncio.get_running_loop().time()
        if refresh is None:
            refresh = clock - self._refreshed >= self.interval
        if not refresh:
            return
        self._refreshed = clock
        limit = asyncio.Semaphore(REFRESH_CONCURRENCY)

        async def one(run: Run, name: str) -> None:
            async with limit:
                await self.refresh(run, name)

        await asyncio.gather(*(one(run, name) for run, name in await self._in_jenkins()))

    async def _in_jenkins(self) -> list[tuple[Run, str]]:
        async with self.store.sessions() as session:
            rows = (
                await session.execute(
                    select(Run, Pipeline.name)
                    .join(Pipeline, Pipeline.id == Run.pipeline_id)
                    .where(Run.state.in_(states.UNFINISHED), Run.queue_id.is_not(None))
                    .order_by(Run.updated_at)
                    .limit(self.batch)
                )
            ).all()
        return [(row[0], row[1]) for row in rows]

    # Starting runs.

    async def dispatch(self, workspace_id: int) -> None:
        """Start a workspace's waiting runs in Jenkins, as many as its cap allows."""
        settings = await self.instances.workspace_ci(workspace_id, previous=True)
        async with self.store.sessions.begin() as session:
            locked = await session.scalar(
                select(func.pg_try_advisory_xact_lock(DISPATCH_LOCK, workspace_id))
            )
            if not locked:
                return
            room = 100
            if settings.max_concurrent_runs:
                active = await self.store.active(session, workspace_id)
                room = settings.max_concurrent_runs - active
            if room <= 0:
                return
            waiting = (
                await session.execute(
                    select(Run, Pipeline.name, Pipeline.generation > Pipeline.synced_generation)
                    .join(Pipeline, Pipeline.id == Run.pipeline_id)
                    .where(
                        Run.workspace_id == workspace_id,
                        Run.state == states.QUEUE,
                        Run.queue_id.is_(None),
                    )
                    .order_by(Run.id)
                    .limit(room)
                )
            ).all()
            if not waiting:
                return
            try:
                if not settings.jenkins:
                    raise FailedPrecondition("no Jenkins instance is registered for the workspace")
                client = await self.pool.client(settings.jenkins)
            except Exception as error:
                runs = [(run, name) for run, name, _ in waiting]
                await self._unstartable(runs, f"no Jenkins to run on: {error}")
                return
            held: set[int] = set()
            pushed: set[int] = set()
            for run, name, unsynced in waiting:
                if run.pipeline_id in held:
                    continue
                if unsynced and run.pipeline_id not in pushed:
                    if not await self._pushed(run, name):
                        held.add(run.pipeline_id)
                        continue
                    pushed.add(run.pipeline_id)
                started = await self._start(client, run, name, moving=bool(settings.previous))
                if started is None:
                    break
                if not started:
                    continue
                if await self._folded(session, run, settings.jenkins, started):
                    held.add(run.pipeline_id)
                    continue
                kept = await session.scalar(
                    update(Run)
                    .where(Run.id == run.id, Run.state == states.QUEUE)
                    .values(queue_id=started, jenkins=settings.jenkins, updated_at=func.now())
                    .returning(Run.id)
                )
                if kept is None:  # cancelled while Jenkins was being asked: take it back
                    await self._withdraw(client, job_path(run.workspace_id, name), started)

    async def _pushed(self, run: Run, name: str) -> bool:
        """Whether the pipeline's saved definition is in Jenkins now, pushed here if need be;
        the run waits (or, past the bound, ends in ERROR) if it is not."""
        if self.pusher is None:
            return True
        clock = asyncio.get_running_loop().time()
        failed = self._push_failed.get(run.pipeline_id)
        if failed is not None and clock - failed < self.push_every:
            return False
        reason = await self.pusher.push_in_request(run.pipeline_id)
        if not reason:
            self._push_failed.pop(run.pipeline_id, None)
            return True
        self._push_failed[run.pipeline_id] = clock
        logger.info("run %s of %s waits for its job to reach Jenkins: %s", run.seq, name, reason)
        await self._unstartable([(run, name)], f"{UNSYNCED} ({reason}); run the pipeline again")
        return False

    async def _withdraw(self, client: JenkinsClient, path: Path, queue_id: int) -> None:
        """Take back a build whose run was cancelled while Jenkins was asked to start it."""
        try:
            await client.cancel_queue_item(queue_id)
            item = await client.queue_item(queue_id)
            if item.build_number is not None:
                await client.stop_build(path, item.build_number)
        except JenkinsError as error:
            logger.warning(
                "could not withdraw queue item %s of a cancelled run: %s", queue_id, error
            )

    async def _folded(self, session: Any, run: Run, instance: str, queue_id: int) -> bool:
        """Whether Jenkins folded the request into a queue item another run already has.

        Jenkins keeps one queue item for identical requests (same job, same parameters) while
        it waits, e.g. behind a build of a job that forbids concurrent builds; the run is then
        not started at all, so it stays in Workbench's queue, and its pipeline's later runs
        with it, until the next pass.
        """
        other = await session.scalar(
            select(Run.id)
            .where(
                Run.workspace_id == run.workspace_id,
                Run.state.in_(states.UNFINISHED),
                Run.queue_id == queue_id,
                Run.jenkins == instance,
            )
            .limit(1)
        )
        if other is not None:
            logger.info("Jenkins folded run %s into queue item %s; trying later", run.seq, queue_id)
        return other is not None

    async def _start(
        self, client: JenkinsClient, run: Run, name: str, *, moving: bool = False
    ) -> int | None:
        """The queue item of the started build; 0 if the run ended in ERROR; None if Jenkins
        is down, or the job is not on the instance a workspace is `moving` to yet (stop
        trying this pass)."""
        values = params.for_jenkins(run.parameters, self.box)
        path = job_path(run.workspace_id, name)
        try:
            return await client.build(path, values if run.parameters else None, delay_seconds=0)
        except JenkinsUnreachable:
            await self._unstartable([(run, name)], "")
            return None
        except JenkinsError as error:
            if moving and isinstance(error, JenkinsNotFound):
                # The syncer is still converging the new instance: wait for the job there.
                await self._unstartable([(run, name)], MOVING)
                return None
            logger.warning("Jenkins refused run %s of %s: %s", run.seq, "/".join(path), error)
            await self._move(run, states.ERROR, description=f"Jenkins refused the run: {error}")
            return 0

    async def _unstartable(self, runs: Any, reason: str) -> None:
        """Runs Jenkins cannot take now: ERROR once they have waited past the bound."""
        deadline = now() - timedelta(seconds=self.give_up_after)
        for run, _name in runs:
            if run.created_at > deadline:
                continue
            waited = int(self.give_up_after)
            description = reason or (
                f"Jenkins did not answer for {waited} s, so the run was never started; "
                "run the pipeline again once Jenkins is back"
            )
            await self._move(run, states.ERROR, description=description)

    async def _move(self, run: Run, target: str, **values: Any) -> Run | None:
        moved = await self.store.move(run, target, **values)
        if moved is not None and states.is_final(moved.state):
            self.kick()
        return moved

    # Keeping runs current.

    async def _build_of_forgotten_item(
        self, client: JenkinsClient, path: Path, run: Run
    ) -> int | None:
        """The build a queue item Jenkins forgot became, unless the job is gone or another
        run of the pipeline on that instance follows that build already."""
        assert run.queue_id is not None
        try:
            number = await client.build_of_queue_item(path, run.queue_id)
        except JenkinsNotFound:
            return None
        if number is None:
            return None

        async with self.store.sessions() as session:
            other = await session.scalar(
                select(Run.id)
                .where(
                    Run.pipeline_id == run.pipeline_id,
                    Run.jenkins == run.jenkins,
                    Run.build_number == number,
                    Run.id != run.id,
                )
                .limit(1)
            )
        return number if other is None else None

    async def refresh(self, run: Run, name: str) -> Run:
        """The run brought up to date from Jenkins (unchanged if Jenkins does not answer)."""
        if states.is_final(run.state) or run.queue_id is None or not run.jenkins:
            return run
        try:
            return await self._refresh(run, name)
        except (JenkinsError, NotFound) as error:  # NotFound: the instance was removed
            logger.info("run %s of %s not refreshed: %s", run.seq, name, error)
            return run

    async def _refresh(self, run: Run, name: str) -> Run:
        client = await self.pool.client(run.jenkins)
        path = job_path(run.workspace_id, name)
        number = run.build_number
        if number is None:
            assert run.queue_id is not None
            try:
                item = await client.queue_item(run.queue_id)
            except JenkinsNotFound:
                found = await self._build_of_forgotten_item(client, path, run)
                if found is None:
                    gone = (
                        "Jenkins no longer knows this run's queue item, and no build of the "
                        "job came from it"
                    )
                    return await self._move(run, states.UNKNOWN, description=gone) or run
                logger.info(
                    "run %s of %s: queue item %s forgotten by Jenkins, found as build %s",
                    run.seq,
                    name,
                    run.queue_id,
                    found,
                )
                number = found
            else:
                if item.cancelled:
                    return await self._move(run, states.CANCELED) or run
                if item.build_number is None:
                    return run
                number = item.build_number

        try:
            info = await client.build_info(path, number)
        except JenkinsNotFound:
            gone = f"Jenkins no longer has build {number}"
            return (
                await self._move(run, states.UNKNOWN, build_number=number, description=gone) or run
            )
        paused = bool(info.get("building")) and bool(await client.pending_inputs(path, number))
        target = states.from_build(info, paused)
        started = _moment(info.get("timestamp"))
        values: dict[str, Any] = {
            "build_number": number,
            "started_at": started,
            "description": str(info.get("description") or ""),
        }
        if states.is_final(target):
            duration = int(info.get("duration") or 0)
            values["duration_ms"] = duration
            if started is not None:
                values["finished_at"] = started + timedelta(milliseconds=duration)
        elif started is not None:
            values["duration_ms"] = max(0, int((now() - started).total_seconds() * 1000))
        moved = await self._move(run, target, **values)
        if moved is not None:
            return moved
        return await self.store.by_id(run.id) or run
