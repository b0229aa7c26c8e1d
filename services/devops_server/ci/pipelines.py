"""The pipelines table: definitions, their sync state, and the list query.

Every write bumps `generation` in the same transaction as the change, and commits before
anything is sent to Jenkins (see `sync`): a pipeline whose `generation` is ahead of
`synced_generation` is one Jenkins does not have yet. Lookups are always by
`(workspace_id, name)`, so a pipeline is never reachable from another workspace.

The list is one statement: the filters on the workspace's rows, the order asked for with
the id as tie-breaker so pages are stable, the total as a scalar subquery over the same
filters, and the run summary columns (kept by the run side) read in the same row. The
default console view, newest last run first, walks `ix_pipelines_workspace_recent`
(workspace, last run time descending with never-run last, id) and stops after one page;
the other orders sort the workspace's rows, which the workspace index finds. List items
are summaries: what a list shows (name, description, type, SCM, group, state, run summary)
without the Jenkinsfile, parameters, build config and triggers, which one pipeline's read
(and `GetBuildParameter`) answers. Every nested message costs the REST gateway's JSON
encoder, which dominated a page's time before; the summaries come from `SummaryCache`
rather than being parsed from JSON on every read.

The Git repository of an SCM pipeline is also what Argo CD may deploy the workspace's
applications from (the syncer writes the workspace's repositories into its AppProject), so
a write that changes which repository a pipeline names (created with one, changed to
another or to none, deleted) records a `repository` change `<workspace>/<pipeline>` in the
tenancy change log, in the same transaction: the syncer follows that log.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from amamba.pipeline.v1alpha1 import pipelines_pb2 as api
from amamba.types import types_pb2
from sqlalchemy import Text, case, cast, delete, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.errors import AlreadyExists, NotFound
from services.devops_server.catalog.tables import PipelineGroup
from services.devops_server.ci.definition import from_spec, redacted, to_spec
from services.devops_server.ci.removals import PipelineRemoval
from services.devops_server.store.tables import Pipeline, Workspace
from services.devops_server.tenancy.store import record_change

logger = logging.getLogger(__name__)

# The `type` and `weather` columns hold the enum names without their prefixes (16 columns).
TYPE_PREFIX = "PIPELINE_TYPE_"
WEATHER_PREFIX = "PIPELINE_WEATHER_"
WEATHERS = ("SUNNY", "PARTIALLY", "CLOUDY", "RAINING", "STORM")
HEALTH = {"SUNNY": 100, "PARTIALLY": 80, "CLOUDY": 60, "RAINING": 40, "STORM": 20}
RUN_STATES = tuple(api.PipelineRunState.keys())

# `pg_advisory_xact_lock(PUSH_LOCK, <pipeline id as int4>)`: one push of a pipeline at a time
# across every devops-server process (see `sync`). Two-key locks are a key space apart from
# the one-key locks of the tenancy change log, and the first key keeps them apart from the
# dispatcher's (`runs.DISPATCH_LOCK`).
PUSH_LOCK = 0x50555348  # "PUSH"


def push_lock_key(pipeline_id: int) -> int:
    """The pipeline id folded into int4; ids past 2**31 share a key, which only serialises."""
    return (pipeline_id + 2**31) % 2**32 - 2**31


def millis(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1000) if moment is not None else 0


def repository(row: Pipeline) -> str:
    """The Git repository URL an SCM pipeline builds from; "" for any other pipeline."""
    if row.type != type_column(api.PIPELINE_TYPE_SCM):
        return ""
    url: Any = ((row.spec.get("pipelineScm") or {}).get("gitRepository") or {}).get("url")
    return url if isinstance(url, str) else ""


async def _record_repository(session: AsyncSession, row: Pipeline, before: str, after: str) -> None:
    if before == after:
        return
    action = "created" if not before else "deleted" if not after else "updated"
    await record_change(session, "repository", f"{row.workspace_id}/{row.name}", action)


def type_column(pipeline_type: int) -> str:
    return api.PipelineType.Name(pipeline_type).removeprefix(TYPE_PREFIX)  # type: ignore[arg-type]


# What a list item leaves out of the definition: GetPipeline and GetBuildParameter have them.
_DETAILS = (
    "parameters",
    "build_config",
    "triggers",
    "pipeline_multi_branch",
    "generic_webhook_trigger",
    "manual_webhook_trigger",
)


class SummaryCache:
    """List-item definitions by (id, generation), so a list decodes each spec once.

    Every change of a definition bumps its generation, so an entry is never stale; the
    cache holds serialized messages (parsing those is far cheaper than proto JSON).
    """

    def __init__(self, size: int = 20_000) -> None:
        self._size = size
        self._items: OrderedDict[tuple[int, int], bytes] = OrderedDict()

    def definition(self, pipeline_id: int, generation: int, spec_json: str) -> api.Pipeline:
        key = (pipeline_id, generation)
        known = self._items.get(key)
        if known is None:
            summary = from_spec(json.loads(spec_json))
            for field in _DETAILS:
                summary.ClearField(field)  # type: ignore[arg-type]
            known = summary.SerializeToString()
            self._items[key] = known
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(key)
        return api.Pipeline.FromString(known)


def pipeline_message(
    row: Any, *, definition: api.Pipeline | None = None, with_jenkinsfile: bool = True
) -> api.Pipeline:
    """A row as the API shows it: never a password default."""
    message = definition if definition is not None else from_spec(row.spec)
    message.workspace_id = str(row.workspace_id)
    message.name = row.name
    if with_jenkinsfile:
        message.jenkinsfile = row.jenkinsfile
    message.disabled = row.disabled
    message.created_at = millis(row.created_at)
    if row.last_run_state in RUN_STATES:
        message.last_pipeline_run_state = api.PipelineRunState.Value(row.last_run_state)
    message.total_run_times = row.total_runs
    message.total_success_times = row.total_successes
    message.last_run_time = millis(row.last_run_at)
    if row.weather in WEATHERS:
        message.weather = api.PipelineWeather.Value(WEATHER_PREFIX + row.weather)
        message.status.health_score = HEALTH[row.weather]
    return redacted(message)


@dataclass(frozen=True)
class ListQuery:
    workspace_id: int
    page: int
    page_size: int
    sort_by: int = types_pb2.PIPELINE_SORT_BY_UNSPECIFIED
    ascending: bool = False
    search_name: str = ""
    build_type: str = ""
    group_id: int | None = None
    weathers: tuple[str, ...] = field(default_factory=tuple)
    last_run_state: str = ""
    disabled_only: bool = False


def _ordinal(column: Any, values: Sequence[str]) -> Any:
    return case(
        {value: index for index, value in enumerate(values, start=1)}, value=column, else_=0
    )


def _sort_key(sort_by: int) -> Any:
    if sort_by == types_pb2.PIPELINE_FIELD_NAME:
        return Pipeline.name
    if sort_by == types_pb2.PIPELINE_CREATED_AT:
        return Pipeline.created_at
    if sort_by == types_pb2.PIPELINE_LAST_RUN_TIME:
        return Pipeline.last_run_at
    if sort_by == types_pb2.PIPELINE_LAST_RUN_STATE:
        return _ordinal(Pipeline.last_run_state, RUN_STATES)
    if sort_by == types_pb2.PIPELINE_WEATHER:
        return _ordinal(Pipeline.weather, WEATHERS)
    if sort_by == types_pb2.PIPELINE_GROUP:
        # By the group's name, as the console shows it; pipelines in no group count as NULL.
        return (
            select(PipelineGroup.name)
            .where(PipelineGroup.id == Pipeline.group_id)
            .correlate(Pipeline)
            .scalar_subquery()
        )
    return Pipeline.id


def _conditions(query: ListQuery) -> list[Any]:
    """The WHERE clause of a list: the workspace first, so its indexes lead."""
    conditions: list[Any] = [Pipeline.workspace_id == query.workspace_id]
    if query.search_name:
        conditions.append(Pipeline.name.ilike(_like(query.search_name)))
    if query.build_type:
        conditions.append(Pipeline.type == query.build_type)
    if query.group_id is not None:
        conditions.append(Pipeline.group_id == query.group_id)
    if query.weathers:
        conditions.append(Pipeline.weather.in_(query.weathers))
    if query.last_run_state:
        conditions.append(Pipeline.last_run_state == query.last_run_state)
    if query.disabled_only:
        conditions.append(Pipeline.disabled.is_(True))
    return conditions


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# What a list item needs: everything but the Jenkinsfile; the spec as text, parsed on a miss.
_LISTED = (
    Pipeline.id,
    Pipeline.generation,
    Pipeline.workspace_id,
    Pipeline.name,
    cast(Pipeline.spec, Text).label("spec_json"),
    Pipeline.disabled,
    Pipeline.created_at,
    Pipeline.last_run_state,
    Pipeline.last_run_at,
    Pipeline.total_runs,
    Pipeline.total_successes,
    Pipeline.weather,
)


class PipelineStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._specs = SummaryCache()

    async def create(
        self,
        workspace_id: int,
        name: str,
        definition: api.Pipeline,
        *,
        jenkinsfile: str = "",
        disabled: bool = False,
    ) -> Pipeline:
        row = Pipeline(
            workspace_id=workspace_id,
            name=name,
            type=type_column(definition.type),
            spec=to_spec(definition),
            jenkinsfile=jenkinsfile,
            disabled=disabled,
            group_id=definition.group.id or None,
            generation=1,
            synced_generation=0,
            sync_error="",
            last_run_seq=0,
            last_run_state="",
            total_runs=0,
            total_successes=0,
            weather="",
        )

        try:
            async with self._sessions.begin() as session:
                if await session.get(Workspace, workspace_id) is None:
                    raise NotFound(f"workspace {workspace_id} does not exist")
                session.add(row)
                await session.flush()
                await session.refresh(row)
                await _record_repository(session, row, "", repository(row))
        except IntegrityError:
            raise AlreadyExists(
                f"name: pipeline {name!r} already exists in workspace {workspace_id}"
            ) from None
        return row

    async def get(self, workspace_id: int, name: str) -> Pipeline:
        async with self._sessions() as session:
            row = await session.scalar(
                select(Pipeline).where(Pipeline.workspace_id == workspace_id, Pipeline.name == name)
            )
        if row is None:
            raise NotFound(f"pipeline {name!r} does not exist in workspace {workspace_id}")
        return row

    async def get_by_id(self, pipeline_id: int) -> Pipeline | None:
        async with self._sessions() as session:
            return await session.get(Pipeline, pipeline_id)

    async def change(
        self, workspace_id: int, name: str, mutate: Callable[[Pipeline], None]
    ) -> Pipeline:
        """Apply `mutate` to the locked row and bump its generation, in one transaction."""
        try:
            async with self._sessions.begin() as session:
                row = await session.scalar(
                    select(Pipeline)
                    .where(Pipeline.workspace_id == workspace_id, Pipeline.name == name)
                    .with_for_update()
                )
                if row is None:
                    raise NotFound(f"pipeline {name!r} does not exist in workspace {workspace_id}")
                before = repository(row)
                mutate(row)
                row.generation += 1
                row.updated_at = func.now()
                await session.flush()
                await session.refresh(row)
                await _record_repository(session, row, before, repository(row))
        except IntegrityError:
            raise AlreadyExists(
                f"newName: a pipeline of that name already exists in workspace {workspace_id}"
            ) from None
        return row

    async def delete(self, workspace_id: int, name: str) -> PipelineRemoval | None:
        """Remove the definition; its runs and run details go with it (foreign keys).

        The answer is the removal of its Jenkins job, recorded in the same transaction
        (None when no job was ever pushed).
        """
        async with self._sessions.begin() as session:
            row: Pipeline | None = await session.scalar(
                delete(Pipeline)
                .where(Pipeline.workspace_id == workspace_id, Pipeline.name == name)
                .returning(Pipeline)
            )
            if row is None:
                raise NotFound(f"pipeline {name!r} does not exist in workspace {workspace_id}")
            await _record_repository(session, row, repository(row), "")
            if not row.jenkins_name:
                return None
            removal = PipelineRemoval(workspace_id=workspace_id, job_name=row.jenkins_name)
            session.add(removal)
            await session.flush()
        return removal

    async def mark_workspace_pending(self, workspace_id: int) -> int:
        """Make every pipeline of a workspace pending again; how many there are."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Pipeline)
                .where(Pipeline.workspace_id == workspace_id)
                .values(generation=Pipeline.generation + 1)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def repositories(self, workspace_id: int | None = None) -> list[tuple[int, str]]:
        """(workspace id, URL) of every Git repository SCM pipelines name, once per workspace,
        of one workspace or of all."""
        url = Pipeline.spec[("pipelineScm", "gitRepository", "url")].astext
        query = (
            select(Pipeline.workspace_id, url)
            .where(Pipeline.type == type_column(api.PIPELINE_TYPE_SCM), url != "")
            .distinct()
            .order_by(Pipeline.workspace_id, url)
        )
        if workspace_id is not None:
            query = query.where(Pipeline.workspace_id == workspace_id)
        async with self._sessions() as session:
            rows = await session.execute(query)
        return [(row[0], row[1]) for row in rows]

    async def ids_in_workspace(self, workspace_id: int) -> list[int]:
        async with self._sessions() as session:
            ids = await session.scalars(
                select(Pipeline.id)
                .where(Pipeline.workspace_id == workspace_id)
                .order_by(Pipeline.id)
            )
            return list(ids)

    async def removals(self, limit: int = 100) -> list[PipelineRemoval]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(PipelineRemoval).order_by(PipelineRemoval.id).limit(limit)
            )
            return list(rows)

    async def forget_removal(self, removal_id: int) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(PipelineRemoval).where(PipelineRemoval.id == removal_id))

    async def exists(self, workspace_id: int, name: str) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(
                select(Pipeline.id).where(
                    Pipeline.workspace_id == workspace_id,
                    (Pipeline.name == name) | (Pipeline.jenkins_name == name),
                )
            )
        return found is not None

    async def list_page(self, query: ListQuery) -> tuple[list[api.Pipeline], int]:
        """One page and the total, in one statement (see the module docstring)."""
        conditions = _conditions(query)
        total = select(func.count()).where(*conditions).scalar_subquery().label("total")
        statement = select(*_LISTED, total).where(*conditions)

        key = _sort_key(query.sort_by)
        if query.ascending:
            statement = statement.order_by(key.asc().nulls_first(), Pipeline.id.asc())
        else:
            statement = statement.order_by(key.desc().nulls_last(), Pipeline.id.desc())
        if query.page_size:
            statement = statement.limit(query.page_size).offset((query.page - 1) * query.page_size)

        async with self._sessions() as session:
            result = (await session.execute(statement)).all()
            if not result:
                # A page past the end has no row to carry the total: count on its own.
                counted = await session.scalar(select(func.count()).where(*conditions))
                return [], int(counted or 0)

        items = [
            pipeline_message(
                row,
                definition=self._specs.definition(row.id, row.generation, row.spec_json),
                with_jenkinsfile=False,
            )
            for row in result
        ]
        return items, int(result[0].total)

    # The sync side.

    @contextlib.asynccontextmanager
    async def push_lock(self, pipeline_id: int) -> AsyncIterator[None]:
        """Hold the pipeline's push lock in PostgreSQL, waiting for any other holder.

        The lock lives in a transaction of its own, on a connection held for the whole
        block; it goes when the block ends, however it ends (a connection lost drops it too).
        """
        async with self._sessions.begin() as session:
            await session.execute(
                select(func.pg_advisory_xact_lock(PUSH_LOCK, push_lock_key(pipeline_id)))
            )
            yield

    async def pending(self, after: int = 0, limit: int = 100) -> list[int]:
        """Pipelines Jenkins does not have the latest definition of, by id after `after`."""
        async with self._sessions() as session:
            ids = await session.scalars(
                select(Pipeline.id)
                .where(Pipeline.generation > Pipeline.synced_generation, Pipeline.id > after)
                .order_by(Pipeline.id)
                .limit(limit)
            )
            return list(ids)

    async def mark_synced(self, pipeline_id: int, generation: int, jenkins_name: str) -> None:
        """Record a push of `generation`; a newer change made meanwhile stays pending."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Pipeline)
                .where(Pipeline.id == pipeline_id)
                .values(
                    synced_generation=func.greatest(Pipeline.synced_generation, generation),
                    sync_error=case(
                        (Pipeline.generation <= generation, literal("")),
                        else_=Pipeline.sync_error,
                    ),
                    synced_at=func.now(),
                    jenkins_name=jenkins_name,
                )
            )

    async def mark_failed(self, pipeline_id: int, error: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(Pipeline).where(Pipeline.id == pipeline_id).values(sync_error=error[:2000])
            )
