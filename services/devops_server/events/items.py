"""Applying item events: a pipeline's Jenkins job changed, deleted or moved by someone else.

The database is the source of truth; a job changed by hand in Jenkins is drift, reported in
the pipeline's sync state and repaired by `:sync` (which pushes the stored definition). But
every push of ours makes Jenkins emit `item.updated` (or `item.created`) too, and an event
cannot tell who wrote: so the applier only notes a suspicion (`drift_hint`) inside the event
transaction, which stays fast and never calls Jenkins, and wakes the background check
(`ci.resync.Resync`). That check, holding the pipeline's push lock, reads the job's
config.xml and compares it with the one Jenkins held right after our last push
(`pushed_config_sha`): equal means the write was ours, different means drift, missing means
the job was deleted or moved away. Deciding from what Jenkins holds now, rather than from the
event, also makes late or reordered events harmless (an `item.deleted` arriving after
`:sync` re-created the job finds the job there).

Which job: `data.fullName` (`<workspace id>/<job>`; `url` as a fallback), or for
`item.locationChanged` the old full name in `metaData`. A move of ours (the pipeline was
renamed in Workbench, so the job moves to the pipeline's name) is recognised and ignored.
Folders and jobs that are no pipeline's are ignored, with the reason as the outcome.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.devops_server.events.envelope import Envelope
from services.devops_server.store.tables import Pipeline

FOLDER_MARK = "Folder"


def _from_url(url: str) -> str:
    """`job/12/job/app/` -> `12/app`."""
    parts = [part for part in url.strip("/").split("/") if part]
    if len(parts) % 2 or any(part != "job" for part in parts[::2]):
        return ""
    return "/".join(parts[1::2])


def job_of(event: Envelope) -> str:
    """The full name of the job an item event is about ("" if unknown)."""
    if event.type == "item.locationChanged":
        meta = event.meta_data or {}
        old = str(meta.get("oldName") or "")
        return old or _from_url(str(meta.get("oldUrl") or ""))
    full = event.data.get("fullName")
    if isinstance(full, str) and full:
        return full
    return _from_url(event.url)


def _split(full_name: str) -> tuple[int, str] | None:
    parts = full_name.split("/")
    if len(parts) != 2 or not parts[0].isdigit() or not parts[1]:
        return None
    return int(parts[0]), parts[1]


def hint_of(event: Envelope, pipeline: Pipeline) -> str:
    """The suspicion to note, or "" when the event is plainly our own doing."""
    if event.type == "item.deleted":
        return "deleted"
    if event.type == "item.locationChanged":
        meta = event.meta_data or {}
        new = str(meta.get("newName") or "") or _from_url(str(meta.get("newUrl") or ""))
        if new == f"{pipeline.workspace_id}/{pipeline.name}":
            return ""  # our push moving the job to the pipeline's new name
        return f"moved:{new}"[:255]
    return "updated"


class ItemApplier:
    """The ITEM applier; `wake` tells the background check there is something to look at."""

    def __init__(self, wake: Callable[[], None] | None = None) -> None:
        self._wake = wake

    async def __call__(self, session: AsyncSession, event: Envelope, instance: str) -> str:
        if FOLDER_MARK in str(event.data.get("_class") or "") or FOLDER_MARK in event.data_type:
            return "ignored: a folder"
        full_name = job_of(event)
        where = _split(full_name)
        if where is None:
            return "ignored: not a job in a workspace folder"
        workspace_id, job = where
        pipeline = await session.scalar(
            select(Pipeline)
            .where(Pipeline.workspace_id == workspace_id)
            .where(
                (Pipeline.jenkins_name == job)
                | ((Pipeline.jenkins_name == "") & (Pipeline.name == job))
            )
            .limit(1)
        )
        if pipeline is None:
            return "ignored: no pipeline for this job"
        if not pipeline.jenkins_name:
            return f"pipeline {pipeline.name}: never pushed yet; nothing to compare"
        hint = hint_of(event, pipeline)
        if not hint:
            return f"pipeline {pipeline.name}: our own move"
        await session.execute(
            update(Pipeline).where(Pipeline.id == pipeline.id).values(drift_hint=hint)
        )
        if self._wake is not None:
            self._wake()
        return f"pipeline {pipeline.name}: drift suspected ({hint}); checking"


def describe(hint: str) -> str:
    """The drift message for a job that is gone from its place."""
    if hint.startswith("moved:"):
        return f"drift: job renamed or moved in Jenkins (to {hint.removeprefix('moved:')!r})"
    return "drift: job deleted in Jenkins"


__all__ = ["ItemApplier", "describe", "job_of"]
