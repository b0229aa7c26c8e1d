"""Applying run events: a Jenkins build's life, told by the Generic Event plugin, to its run.

The build is found by its job (`_parentFullName` is the workspace's folder, its numeric id;
`_projectName` the job, which is the pipeline's name in Jenkins) and then by its build number,
or, the first time, by the queue item Workbench handed it (`queueId`). A build Workbench did
not start (someone pressed "Build" in Jenkins, a timer fired) is imported as a new run with
the next number, its trigger read from its causes and its parameters from its
`ParametersAction` (Jenkins shows password values masked, so they are kept empty).

States follow `ci.states`: `run.initialize` and `run.started` mean the build runs;
`run.completed` and `run.finalized` carry its result. A move happens only from one of the
target's predecessors, so a late `run.started` after `run.completed` changes nothing, and the
same change applied twice (an event after a poll) is harmless.

Events come in batches (one post of event-proxy), applied in the transaction that records
their ids, with a fixed number of statements whatever the batch's size:

1. the pipelines of all the batch's jobs, then their rows locked in id order: a build not
   yet known becomes a run numbered from its pipeline, and the lock keeps two appliers (two
   replicas, or an event and the resync loop) from importing it twice;
2. the known runs of all the batch's builds on this instance (a moved workspace's builds
   start again at 1 on its new instance), locked in id order;
3. in memory, each build's events folded in arrival order through the state machine: one
   build's four events in one batch are one write;
4. new runs inserted with numbers taken from their pipelines, moved runs updated, and the
   summaries of the pipelines whose runs moved recomputed (`summarise_pipelines`).

Each event gets an outcome, a short text recorded with its id.

IMPORTANT: locks are taken pipelines first, then their runs, each in id order; every
transaction that changes a run and its pipeline does the same (`RunStore.move`), or two of
them can deadlock.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.devops_server.ci import states
from services.devops_server.ci.runs import summarise_pipelines
from services.devops_server.events.envelope import Envelope

# Jenkins cause class -> the contract's trigger type.
TRIGGERS: dict[str, str] = {
    "hudson.model.Cause$UserIdCause": "MANUAL",
    "hudson.model.Cause$UserCause": "MANUAL",
    "hudson.triggers.TimerTrigger$TimerTriggerCause": "SCHEDULE",
    "hudson.triggers.SCMTrigger$SCMTriggerCause": "SCMCHANGE",
    "hudson.model.Cause$RemoteCause": "WEBHOOK",
    "jenkins.branch.BranchIndexingCause": "BRANCH_INDEX",
    "jenkins.branch.BranchEventCause": "BRANCH_INDEX",
}

# Jenkins parameter value class -> the contract's parameter type.
PARAMETER_TYPES: dict[str, str] = {
    "hudson.model.StringParameterValue": "PARAMETER_TYPE_STRING",
    "hudson.model.TextParameterValue": "PARAMETER_TYPE_TEXT",
    "hudson.model.BooleanParameterValue": "PARAMETER_TYPE_BOOLEAN",
    "hudson.model.PasswordParameterValue": "PARAMETER_TYPE_PASSWORD",
    "hudson.model.ChoiceParameterValue": "PARAMETER_TYPE_CHOICE",
}


def _actions(data: dict[str, Any], cls: str) -> list[dict[str, Any]]:
    return [a for a in data.get("actions") or [] if isinstance(a, dict) and a.get("_class") == cls]


def trigger_of(data: dict[str, Any]) -> tuple[str, str]:
    """(trigger type, who started it) from the build's causes."""
    for action in _actions(data, "hudson.model.CauseAction"):
        for cause in action.get("causes") or []:
            if not isinstance(cause, dict):
                continue
            kind = TRIGGERS.get(str(cause.get("_class")))
            if kind is not None:
                return kind, str(cause.get("userId") or "")
    return "MANUAL", ""


def parameters_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The build's parameters, stored like a run's (passwords empty: Jenkins masks them)."""
    found = []
    for action in _actions(data, "hudson.model.ParametersAction"):
        for value in action.get("parameters") or []:
            if not isinstance(value, dict) or not value.get("name"):
                continue
            kind = PARAMETER_TYPES.get(str(value.get("_class")), "PARAMETER_TYPE_STRING")
            shown = value.get("value")
            text_ = "" if kind.endswith("PASSWORD") or shown is None else str(shown)
            if isinstance(shown, bool):
                text_ = str(shown).lower()
            found.append({"name": str(value["name"]), "type": kind, "value": text_})
    return found


def _moment(millis: object) -> datetime | None:
    if isinstance(millis, int | float) and not isinstance(millis, bool) and millis > 0:
        return datetime.fromtimestamp(millis / 1000, UTC)
    return None


def _int(value: object, limit: int = 2**31 - 1) -> int | None:
    """An integer that fits the column it goes to (build numbers are 32-bit, queue ids 64)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limit:
        return value
    return None


def target_of(event: Envelope) -> str:
    data = event.data
    if event.type in ("run.initialize", "run.started") or data.get("building"):
        return states.RUNNING
    return states.BUILD_RESULTS.get(str(data.get("result")), states.UNKNOWN)


@dataclass
class _Build:
    """One build of the batch: its run as stored (if any) and what its events make of it."""

    pipeline_id: int
    workspace_id: int
    number: int
    run_id: int | None = None
    seq: int = 0
    stored_state: str = ""
    state: str = ""
    queue_id: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    imported_by: Envelope | None = None

    @property
    def moved(self) -> bool:
        return self.state != self.stored_state


_PIPELINES = text(
    "SELECT DISTINCT ON (k.folder, k.job) k.folder, k.job, p.id, p.workspace_id"
    " FROM unnest(CAST(:folders AS integer[]), CAST(:jobs AS text[])) AS k(folder, job)"
    " JOIN pipelines p ON p.workspace_id = k.folder"
    " AND (p.jenkins_name = k.job OR (p.jenkins_name = '' AND p.name = k.job))"
    " ORDER BY k.folder, k.job, p.id"
)
_LOCK_PIPELINES = text(
    "SELECT id FROM pipelines WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR UPDATE"
)
_RUNS_BY_BUILD = text(
    "SELECT r.id, r.pipeline_id, r.build_number, r.seq, r.state FROM runs r"
    " JOIN unnest(CAST(:pipelines AS bigint[]), CAST(:numbers AS integer[])) AS k(p, n)"
    " ON r.pipeline_id = k.p AND r.build_number = k.n"
    " WHERE r.jenkins = :instance OR r.jenkins = ''"
    " ORDER BY r.id FOR UPDATE OF r"
)
_RUNS_BY_QUEUE_ITEM = text(
    "SELECT r.id, r.pipeline_id, r.queue_id, r.seq, r.state FROM runs r"
    " JOIN unnest(CAST(:pipelines AS bigint[]), CAST(:queue_ids AS bigint[])) AS k(p, q)"
    " ON r.pipeline_id = k.p AND r.queue_id = k.q AND r.build_number IS NULL"
    " WHERE r.jenkins = :instance OR r.jenkins = ''"
    " ORDER BY r.id FOR UPDATE OF r"
)
_TAKE_NUMBERS = text(
    "UPDATE pipelines p SET last_run_seq = p.last_run_seq + k.n, total_runs = p.total_runs + k.n,"
    " last_run_state = 'QUEUE', last_run_at = now()"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:counts AS integer[])) AS k(id, n)"
    " WHERE p.id = k.id RETURNING p.id, p.last_run_seq"
)
_INSERT_RUNS = text(
    "INSERT INTO runs (pipeline_id, workspace_id, seq, jenkins, queue_id, build_number, state,"
    " trigger_type, started_by, parameters, description, duration_ms, started_at, finished_at)"
    " SELECT k.pipeline_id, k.workspace_id, k.seq, k.jenkins, k.queue_id, k.build_number,"
    " k.state, k.trigger_type, k.started_by, CAST(k.parameters AS jsonb), k.description,"
    " k.duration_ms, k.started_at, k.finished_at"
    " FROM unnest(CAST(:pipeline_ids AS bigint[]), CAST(:workspace_ids AS integer[]),"
    " CAST(:seqs AS integer[]), CAST(:jenkins AS text[]), CAST(:queue_ids AS bigint[]),"
    " CAST(:build_numbers AS integer[]), CAST(:states AS text[]), CAST(:triggers AS text[]),"
    " CAST(:started_by AS text[]), CAST(:parameters AS text[]), CAST(:descriptions AS text[]),"
    " CAST(:durations AS bigint[]), CAST(:started_at AS timestamptz[]),"
    " CAST(:finished_at AS timestamptz[]))"
    " AS k(pipeline_id, workspace_id, seq, jenkins, queue_id, build_number, state,"
    " trigger_type, started_by, parameters, description, duration_ms, started_at, finished_at)"
)
_UPDATE_RUNS = text(
    "UPDATE runs r SET state = k.state, build_number = k.build_number,"
    " jenkins = COALESCE(NULLIF(k.jenkins, ''), r.jenkins),"
    " started_at = COALESCE(k.started_at, r.started_at),"
    " description = COALESCE(k.description, r.description),"
    " duration_ms = COALESCE(k.duration_ms, r.duration_ms),"
    " finished_at = COALESCE(k.finished_at, r.finished_at), updated_at = now()"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:was AS text[]), CAST(:states AS text[]),"
    " CAST(:build_numbers AS integer[]), CAST(:jenkins AS text[]),"
    " CAST(:started_at AS timestamptz[]), CAST(:descriptions AS text[]),"
    " CAST(:durations AS bigint[]), CAST(:finished_at AS timestamptz[]))"
    " AS k(id, was, state, build_number, jenkins, started_at, description, duration_ms,"
    " finished_at)"
    " WHERE r.id = k.id AND r.state = k.was"
)


async def apply_run_events(
    session: AsyncSession, events: Sequence[Envelope], instance: str
) -> list[str]:
    """Apply run events in arrival order; the outcome of each, in the same order."""
    outcomes: list[str] = [""] * len(events)
    addressed: list[tuple[int, Envelope, int, str, int]] = []  # index, event, folder, job, no.
    for index, event in enumerate(events):
        data = event.data
        number = _int(data.get("number"))
        parent = str(data.get("_parentFullName") or "")
        name = str(data.get("_projectName") or "")
        if number is None:
            outcomes[index] = "ignored: no build number"
        elif not parent.isdigit() or not name or len(parent) > 9:
            outcomes[index] = "ignored: no pipeline for this job"
        else:
            addressed.append((index, event, int(parent), name, number))
    if not addressed:
        return outcomes

    jobs = sorted({(folder, job) for _, _, folder, job, _ in addressed})
    found = await session.execute(
        _PIPELINES, {"folders": [f for f, _ in jobs], "jobs": [j for _, j in jobs]}
    )
    pipelines = {(row.folder, row.job): (row.id, row.workspace_id) for row in found}
    if not pipelines:
        for index, *_ in addressed:
            outcomes[index] = "ignored: no pipeline for this job"
        return outcomes
    await session.execute(_LOCK_PIPELINES, {"ids": sorted({p for p, _ in pipelines.values()})})

    builds: dict[tuple[int, int], _Build] = {}
    ordered: list[tuple[int, Envelope, _Build]] = []
    for index, event, folder, job, number in addressed:
        where = pipelines.get((folder, job))
        if where is None:
            outcomes[index] = "ignored: no pipeline for this job"
            continue
        build = builds.setdefault(
            (where[0], number), _Build(pipeline_id=where[0], workspace_id=where[1], number=number)
        )
        if build.queue_id is None:
            build.queue_id = _int(event.data.get("queueId"), 2**63 - 1)
        ordered.append((index, event, build))
    await _find_runs(session, builds, instance)

    for index, event, build in ordered:
        outcomes[index] = _fold(build, event, instance)

    await _write(session, list(builds.values()), instance)
    for index, _, build in ordered:
        if "{seq}" in outcomes[index]:
            outcomes[index] = outcomes[index].replace("{seq}", str(build.seq))
    return outcomes


async def apply_run_event(session: AsyncSession, event: Envelope, instance: str) -> str:
    """Apply one run event; its outcome."""
    return (await apply_run_events(session, [event], instance))[0]


async def _find_runs(
    session: AsyncSession, builds: dict[tuple[int, int], _Build], instance: str
) -> None:
    """Fill in the stored run of each build: by build number, else by queue item."""
    keys = sorted(builds)
    rows = await session.execute(
        _RUNS_BY_BUILD,
        {"pipelines": [p for p, _ in keys], "numbers": [n for _, n in keys], "instance": instance},
    )
    for row in rows:
        _found(builds[(row.pipeline_id, row.build_number)], row)

    waiting = [b for b in builds.values() if b.run_id is None and b.queue_id is not None]
    if not waiting:
        return
    rows = await session.execute(
        _RUNS_BY_QUEUE_ITEM,
        {
            "pipelines": [b.pipeline_id for b in waiting],
            "queue_ids": [b.queue_id for b in waiting],
            "instance": instance,
        },
    )
    by_item = {(b.pipeline_id, b.queue_id): b for b in waiting}
    for row in rows:
        build = by_item.get((row.pipeline_id, row.queue_id))
        if build is not None and build.run_id is None:
            _found(build, row)


def _found(build: _Build, row: Any) -> None:
    build.run_id = row.id
    build.seq = row.seq
    build.stored_state = build.state = row.state


def _fold(build: _Build, event: Envelope, instance: str) -> str:
    """One event's effect on its build, in memory; its outcome (`{seq}` filled in later)."""
    known = build.run_id is not None or build.imported_by is not None
    if event.type == "run.deleted":
        if not known:
            return "ignored: a build Workbench never knew was deleted"
        return "run {seq}: deleted in Jenkins; kept in Workbench"

    prefix = ""
    if not known:
        build.imported_by = event
        build.stored_state = ""
        build.state = states.QUEUE
        prefix = "imported; "

    before = build.state
    target = target_of(event)
    if before not in states.PREDECESSORS.get(target, ()):
        return f"{prefix}run {{seq}}: stays {before} (no move to {target})"

    data = event.data
    values = build.values
    values["jenkins"] = instance
    started = _moment(data.get("timestamp"))
    if started is not None:
        values["started_at"] = started
    if data.get("description"):
        values["description"] = str(data["description"])
    if states.is_final(target):
        duration = _int(data.get("duration")) or 0
        values["duration_ms"] = duration
        begun = started or values.get("started_at")
        values["finished_at"] = (
            begun + timedelta(milliseconds=duration) if begun else datetime.now(UTC)
        )
    build.state = target
    return f"{prefix}run {{seq}}: {before} -> {target}"


async def _write(session: AsyncSession, builds: list[_Build], instance: str) -> None:
    """New runs inserted, moved runs updated, summaries of their pipelines recomputed."""
    new = [b for b in builds if b.imported_by is not None]
    moved = [b for b in builds if b.imported_by is None and b.moved]
    if new:
        await _insert(session, new, instance)
    if moved:
        await session.execute(
            _UPDATE_RUNS,
            {
                "ids": [b.run_id for b in moved],
                "was": [b.stored_state for b in moved],
                "states": [b.state for b in moved],
                "build_numbers": [b.number for b in moved],
                "jenkins": [b.values.get("jenkins", instance) for b in moved],
                "started_at": [b.values.get("started_at") for b in moved],
                "descriptions": [b.values.get("description") for b in moved],
                "durations": [b.values.get("duration_ms") for b in moved],
                "finished_at": [b.values.get("finished_at") for b in moved],
            },
        )
    changed = new + moved
    if changed:
        ended: dict[int, int] = {}
        for build in changed:
            if states.is_final(build.state):
                successes = 1 if build.state == states.SUCCESS else 0
                ended[build.pipeline_id] = ended.get(build.pipeline_id, 0) + successes
        await summarise_pipelines(session, {b.pipeline_id for b in changed}, ended)


async def _insert(session: AsyncSession, new: list[_Build], instance: str) -> None:
    """Runs for builds Workbench did not start, numbered in arrival order per pipeline."""
    counts: dict[int, int] = {}
    for build in new:
        counts[build.pipeline_id] = counts.get(build.pipeline_id, 0) + 1
    ids = sorted(counts)
    taken = await session.execute(_TAKE_NUMBERS, {"ids": ids, "counts": [counts[i] for i in ids]})
    next_seq = {row.id: row.last_run_seq - counts[row.id] + 1 for row in taken}
    for build in new:
        build.seq = next_seq[build.pipeline_id]
        next_seq[build.pipeline_id] += 1

    imported = [b.imported_by for b in new]
    triggers = [trigger_of(e.data) if e is not None else ("MANUAL", "") for e in imported]
    await session.execute(
        _INSERT_RUNS,
        {
            "pipeline_ids": [b.pipeline_id for b in new],
            "workspace_ids": [b.workspace_id for b in new],
            "seqs": [b.seq for b in new],
            "jenkins": [b.values.get("jenkins", instance) for b in new],
            "queue_ids": [b.queue_id for b in new],
            "build_numbers": [b.number for b in new],
            "states": [b.state for b in new],
            "triggers": [kind for kind, _ in triggers],
            "started_by": [who for _, who in triggers],
            "parameters": [
                json.dumps(parameters_of(e.data) if e is not None else []) for e in imported
            ],
            "descriptions": [b.values.get("description", "") for b in new],
            "durations": [b.values.get("duration_ms", 0) for b in new],
            "started_at": [b.values.get("started_at") for b in new],
            "finished_at": [b.values.get("finished_at") for b in new],
        },
    )
