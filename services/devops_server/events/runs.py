"""Applying run events: a Jenkins build's life, told by the Generic Event plugin, to its run.

The build is found by its job (`_parentFullName` is the workspace's folder, its numeric id;
`_projectName` the job, which is the pipeline's name in Jenkins) and then by its build number,
or, the first time, by the queue item Workbench handed it (`queueId`). A build Workbench did
not start (someone pressed "Build" in Jenkins, a timer fired) is imported as a new run with
the next number, its trigger read from its causes and its parameters from its
`ParametersAction` (Jenkins shows password values masked, so they are kept empty).

States follow `ci.states`: `run.initialize` and `run.started` mean the build runs;
`run.completed` and `run.finalized` carry its result. The move is conditional on the run's
current state, so a late `run.started` after `run.completed` changes nothing, and the same
change applied twice (an event after a poll) is harmless. Everything happens in the
transaction that records the event id.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.devops_server.ci import states
from services.devops_server.ci.runs import summarise
from services.devops_server.events.envelope import Envelope
from services.devops_server.store.tables import Pipeline, Run

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
            text = "" if kind.endswith("PASSWORD") or shown is None else str(shown)
            if isinstance(shown, bool):
                text = str(shown).lower()
            found.append({"name": str(value["name"]), "type": kind, "value": text})
    return found


def _moment(millis: object) -> datetime | None:
    if isinstance(millis, int | float) and millis > 0:
        return datetime.fromtimestamp(millis / 1000, UTC)
    return None


def target_of(event: Envelope) -> str:
    data = event.data
    if event.type in ("run.initialize", "run.started") or data.get("building"):
        return states.RUNNING
    return states.BUILD_RESULTS.get(str(data.get("result")), states.UNKNOWN)


async def _find_pipeline(session: AsyncSession, data: dict[str, Any]) -> Pipeline | None:
    folder = str(data.get("_parentFullName") or "")
    job = str(data.get("_projectName") or "")
    if not folder.isdigit() or not job:
        return None
    workspace_id = int(folder)
    return await session.scalar(
        select(Pipeline)
        .where(Pipeline.workspace_id == workspace_id)
        .where(
            (Pipeline.jenkins_name == job)
            | ((Pipeline.jenkins_name == "") & (Pipeline.name == job))
        )
        .limit(1)
    )


async def _find_run(
    session: AsyncSession, pipeline: Pipeline, number: int, queue_id: int | None
) -> Run | None:
    run = await session.scalar(
        select(Run).where(Run.pipeline_id == pipeline.id, Run.build_number == number)
    )
    if run is None and queue_id is not None:
        run = await session.scalar(
            select(Run).where(
                Run.pipeline_id == pipeline.id,
                Run.queue_id == queue_id,
                Run.build_number.is_(None),
            )
        )
    return run


async def _import(
    session: AsyncSession, pipeline: Pipeline, instance: str, event: Envelope, number: int
) -> Run:
    """A run for a build Workbench did not start."""
    seq = await session.scalar(
        update(Pipeline)
        .where(Pipeline.id == pipeline.id)
        .values(
            last_run_seq=Pipeline.last_run_seq + 1,
            total_runs=Pipeline.total_runs + 1,
            last_run_state=states.QUEUE,
            last_run_at=func.now(),
        )
        .returning(Pipeline.last_run_seq)
    )
    trigger, started_by = trigger_of(event.data)
    queue_id = event.data.get("queueId")
    run = Run(
        pipeline_id=pipeline.id,
        workspace_id=pipeline.workspace_id,
        seq=seq,
        jenkins=instance,
        queue_id=queue_id if isinstance(queue_id, int) else None,
        build_number=number,
        state=states.QUEUE,
        trigger_type=trigger,
        started_by=started_by,
        parameters=parameters_of(event.data),
        description="",
        duration_ms=0,
    )
    session.add(run)
    await session.flush()
    return run


async def apply_run_event(session: AsyncSession, event: Envelope, instance: str) -> str:
    """Move the run of the build an event is about; a short outcome for the record."""
    data = event.data
    number = data.get("number")
    if not isinstance(number, int):
        return "ignored: no build number"
    pipeline = await _find_pipeline(session, data)
    if pipeline is None:
        return "ignored: no pipeline for this job"

    queue_id = data.get("queueId") if isinstance(data.get("queueId"), int) else None
    run = await _find_run(session, pipeline, number, queue_id)
    imported = run is None
    if run is None:
        if event.type == "run.deleted":
            return "ignored: a build Workbench never knew was deleted"
        run = await _import(session, pipeline, instance, event, number)
    if event.type == "run.deleted":
        return f"run {run.seq}: deleted in Jenkins; kept in Workbench"

    before = run.state
    target = target_of(event)
    started = _moment(data.get("timestamp"))
    values: dict[str, Any] = {"build_number": number, "jenkins": instance or run.jenkins}
    if started is not None:
        values["started_at"] = started
    if data.get("description"):
        values["description"] = str(data["description"])
    if states.is_final(target):
        duration = int(data.get("duration") or 0)
        values["duration_ms"] = duration
        values["finished_at"] = (
            started + timedelta(milliseconds=duration) if started else datetime.now(UTC)
        )

    allowed = states.PREDECESSORS.get(target, ())
    moved = await session.scalar(
        update(Run)
        .where(Run.id == run.id, Run.state.in_(allowed))
        .values(state=target, updated_at=func.now(), **values)
        .returning(Run)
    )
    prefix = "imported; " if imported else ""
    if moved is None:
        return f"{prefix}run {run.seq}: stays {before} (no move to {target})"
    await summarise(session, moved)
    return f"{prefix}run {moved.seq}: {before} -> {target}"
