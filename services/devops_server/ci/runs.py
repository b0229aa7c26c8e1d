"""The run store: runs, their state machine, the pipeline's run summary, and run details.

Decisions:
- A run's number (`seq`, the API's `runId`) comes from the pipeline row: asking for a run
  increments `pipelines.last_run_seq` and inserts the run in one transaction, so numbers are
  dense and ordered per pipeline even while runs wait in Workbench's own queue, before
  Jenkins has a build number for them.
- States move only forward (see `states`): `move` is one `UPDATE ... WHERE state IN
  (predecessors)`, so a late report or two replicas racing change nothing twice. The same
  transaction keeps the pipeline's summary current: `last_run_state` when the run is the
  pipeline's newest, `total_successes` and `weather` when it ends. `total_runs` counts every
  run asked for and `last_run_at` is when the newest was asked for, both set with its number.
- A run "waits in Workbench's queue" while it is QUEUE with no `queue_id`; once handed to
  Jenkins it has one. The run cap counts the unfinished runs that Jenkins has.
- Details only Jenkins has are kept in `run_details` once the run has finished, keyed by kind
  (`log`, `nodes`, `steps`, `steplog`, `artifacts`, `junit`) and key (a node id, a step id):
  nodes, steps and artifacts as the API's JSON, logs as their text, the JUnit report as its
  cases; an unfinished run's details are always asked of Jenkins.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.errors import FailedPrecondition, NotFound
from services.devops_server.ci import states
from services.devops_server.store.tables import Pipeline, Run, RunDetail

# `pg_try_advisory_xact_lock(DISPATCH_LOCK, workspace_id)`: one dispatcher per workspace.
DISPATCH_LOCK = 0x52554E53  # "RUNS"


@dataclass(frozen=True)
class RunFilter:
    state: str = ""
    trigger_type: str = ""
    started_by: str = ""
    description: str = ""
    run_id: int = 0
    start_from: datetime | None = None
    start_to: datetime | None = None


def now() -> datetime:
    return datetime.now(UTC)


class RunStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def create(
        self,
        workspace_id: int,
        name: str,
        parameters: Callable[[Pipeline], list[dict[str, Any]]],
        *,
        trigger_type: str,
        started_by: str,
    ) -> tuple[Pipeline, Any]:
        """A new run in state QUEUE with the pipeline's next number, in one transaction; the
        run comes back as a row of the `runs` columns (a plain insert costs less than a flush).

        `parameters` turns the pipeline (its definition) into the run's stored parameters; it
        may refuse them (raise), which leaves everything as it was.
        """
        async with self.sessions.begin() as session:
            pipeline = await session.scalar(
                update(Pipeline)
                .where(Pipeline.workspace_id == workspace_id, Pipeline.name == name)
                .values(
                    last_run_seq=Pipeline.last_run_seq + 1,
                    total_runs=Pipeline.total_runs + 1,
                    last_run_state=states.QUEUE,
                    last_run_at=func.now(),
                )
                .returning(Pipeline)
            )
            if pipeline is None:
                raise NotFound(f"pipeline {name!r} does not exist in workspace {workspace_id}")
            if pipeline.disabled:
                raise FailedPrecondition(f"pipeline {name!r} is disabled; enable it first")
            run = (
                await session.execute(
                    insert(Run)
                    .values(
                        pipeline_id=pipeline.id,
                        workspace_id=workspace_id,
                        seq=pipeline.last_run_seq,
                        jenkins="",
                        state=states.QUEUE,
                        trigger_type=trigger_type,
                        started_by=started_by,
                        parameters=parameters(pipeline),
                        description="",
                        duration_ms=0,
                    )
                    .returning(*Run.__table__.columns)
                )
            ).one()
        return pipeline, run

    async def get(self, workspace_id: int, name: str, seq: int) -> tuple[Pipeline, Run]:
        async with self.sessions() as session:
            found = (
                await session.execute(
                    select(Pipeline, Run)
                    .join(Run, Run.pipeline_id == Pipeline.id)
                    .where(
                        Pipeline.workspace_id == workspace_id,
                        Pipeline.name == name,
                        Run.seq == seq,
                    )
                )
            ).first()
        if found is None:
            raise NotFound(f"run {seq} of pipeline {name!r} does not exist")
        return found[0], found[1]

    async def by_id(self, run_id: int) -> Run | None:
        async with self.sessions() as session:
            return await session.get(Run, run_id)

    async def list_runs(
        self,
        workspace_id: int,
        name: str,
        where: RunFilter,
        *,
        order: str,
        ascending: bool,
        offset: int,
        limit: int,
    ) -> tuple[Pipeline, Sequence[Any], int]:
        """The pipeline, a page of its runs and how many match, in one session.

        The runs are plain rows (the `runs` columns by name), not ORM objects: a page is read
        far more often than it is changed, and rows cost a fraction of mapped objects.
        """
        async with self.sessions() as session:
            pipeline = await session.scalar(
                select(Pipeline).where(Pipeline.workspace_id == workspace_id, Pipeline.name == name)
            )
            if pipeline is None:
                raise NotFound(f"pipeline {name!r} does not exist in workspace {workspace_id}")
            rows, total = await self._page(
                session, pipeline.id, where, order, ascending, offset, limit
            )
        return pipeline, rows, total

    async def _page(
        self,
        session: AsyncSession,
        pipeline_id: int,
        where: RunFilter,
        order: str,
        ascending: bool,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[Any], int]:
        conditions = [Run.pipeline_id == pipeline_id]
        if where.state:
            conditions.append(Run.state == where.state)
        if where.trigger_type:
            conditions.append(Run.trigger_type == where.trigger_type)
        if where.started_by:
            conditions.append(Run.started_by == where.started_by)
        if where.description:
            escaped = (
                where.description.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
            )
            conditions.append(Run.description.ilike(f"%{escaped}%"))
        if where.run_id:
            conditions.append(Run.seq == where.run_id)
        if where.start_from is not None:
            conditions.append(Run.started_at >= where.start_from)
        if where.start_to is not None:
            conditions.append(Run.started_at <= where.start_to)
        column = {"CREATED_AT": Run.created_at, "START_AT": Run.started_at}.get(order, Run.seq)
        ordering = [column.asc() if ascending else column.desc()]
        if column is not Run.seq:
            ordering.append(Run.seq.asc() if ascending else Run.seq.desc())
        # The total rides along as a window count: one round trip for the page and the total;
        # only a page past the end (no rows) needs the count on its own.
        counted = func.count().over().label("matching")
        query = select(*Run.__table__.columns, counted).where(and_(*conditions))
        query = query.order_by(*ordering).offset(offset)
        if limit:
            query = query.limit(limit)
        rows = (await session.execute(query)).all()
        if rows:
            total = rows[0].matching
        elif offset:
            total = await session.scalar(
                select(func.count()).select_from(Run).where(and_(*conditions))
            )
        else:
            total = 0
        return rows, int(total or 0)

    async def move(self, run: Run, target: str, **values: Any) -> Run | None:
        """Move a run to `target` if the state machine allows; the updated run, else None.

        Without a state change (`target` equal to the current state) only `values` are
        written, and only while the run is unfinished.
        """
        allowed = states.PREDECESSORS.get(target, ())
        if target == run.state and not states.is_final(target):
            allowed = (target,)
        if not allowed:
            return None
        if states.is_final(target):
            values.setdefault("finished_at", now())
        async with self.sessions.begin() as session:
            # The pipeline before its run, as event application locks them (`events.runs`).
            await session.execute(
                select(Pipeline.id).where(Pipeline.id == run.pipeline_id).with_for_update()
            )
            moved = await session.scalar(
                update(Run)
                .where(Run.id == run.id, Run.state.in_(allowed))
                .values(state=target, updated_at=func.now(), **values)
                .returning(Run)
            )
            if moved is None:
                return None
            if target != run.state:
                successes = 1 if target == states.SUCCESS else 0
                ended = {run.pipeline_id: successes} if states.is_final(target) else {}
                await summarise_pipelines(session, {run.pipeline_id}, ended)
        assert isinstance(moved, Run)
        return moved

    # The dispatcher's queries.

    async def workspaces_waiting(self) -> list[int]:
        """Workspaces with runs waiting in Workbench's queue."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(Run.workspace_id)
                .where(Run.state == states.QUEUE, Run.queue_id.is_(None))
                .distinct()
            )
            return list(rows)

    async def active(self, session: AsyncSession, workspace_id: int) -> int:
        """Unfinished runs that Jenkins has (they count against the run cap)."""
        count = await session.scalar(
            select(func.count())
            .select_from(Run)
            .where(
                Run.workspace_id == workspace_id,
                Run.state.in_(states.UNFINISHED),
                Run.queue_id.is_not(None),
            )
        )
        return int(count or 0)

    # Details.

    async def detail(self, run_id: int, kind: str, key: str = "") -> dict[str, Any] | None:
        async with self.sessions() as session:
            row = await session.get(RunDetail, (run_id, kind, key))
        return None if row is None else row.content

    async def keep_detail(self, run_id: int, kind: str, key: str, content: dict[str, Any]) -> None:
        async with self.sessions.begin() as session:
            await session.execute(
                insert(RunDetail)
                .values(run_id=run_id, kind=kind, key=key, content=content)
                .on_conflict_do_nothing()
            )


_LAST_RUN_STATE = text(
    "UPDATE pipelines p SET last_run_state = r.state FROM runs r"
    " WHERE p.id = ANY(CAST(:ids AS bigint[])) AND r.pipeline_id = p.id"
    " AND r.seq = p.last_run_seq AND p.last_run_state IS DISTINCT FROM r.state"
)
_RECENT_VERDICTS = text(
    "SELECT k.id, ARRAY(SELECT r.state FROM runs r WHERE r.pipeline_id = k.id"
    " AND r.state = ANY(CAST(:counted AS text[])) ORDER BY r.seq DESC LIMIT :window) AS recent"
    " FROM unnest(CAST(:ids AS bigint[])) AS k(id)"
)
_ENDED = text(
    "UPDATE pipelines p SET total_successes = p.total_successes + k.successes,"
    " weather = k.weather"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:successes AS integer[]),"
    " CAST(:weathers AS text[])) AS k(id, successes, weather)"
    " WHERE p.id = k.id"
)


async def summarise_pipelines(
    session: AsyncSession, changed: Collection[int], ended: Mapping[int, int]
) -> None:
    """Keep pipelines' run summaries current after their runs changed state (same transaction).

    `changed` are the pipelines whose runs moved: `last_run_state` follows each one's newest
    run. `ended` maps the pipelines where runs reached a final state to how many of those
    succeeded: `total_successes` grows by that and `weather` is read again.
    """
    await session.execute(_LAST_RUN_STATE, {"ids": sorted(changed)})
    if not ended:
        return
    ids = sorted(ended)
    rows = await session.execute(
        _RECENT_VERDICTS,
        {"ids": ids, "counted": list(states.COUNTED), "window": states.WEATHER_WINDOW},
    )
    weathers = {row.id: states.weather(row.recent) for row in rows}
    await session.execute(
        _ENDED,
        {
            "ids": ids,
            "successes": [ended[i] for i in ids],
            "weathers": [weathers[i] for i in ids],
        },
    )
