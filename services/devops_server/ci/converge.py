"""Converging a whole workspace's jobs on the instance it uses: what the syncer asks for.

`SyncLoop` pushes what the database knows to be pending; it cannot see a Jenkins that lost
jobs (an instance rebuilt, a job deleted by hand) or a workspace pointed at a fresh instance.
`converge_workspace` compares instead: for each of the workspace's pipelines it reads the
job's config.xml from the instance the workspace uses now and pushes the stored definition
(through `JobPusher`, so the push is the same as on a save) when the job

- is missing (a new instance, a job deleted by hand: "created"),
- differs from what Jenkins held right after Workbench's last push, its SHA-256 in
  `pushed_config_sha` (edited by hand, or pushed to another instance: "updated"),
- or is pending anyway (a save not pushed yet, a rename).

Anything else is "unchanged" and costs one read: a converged workspace makes no write. Each
pipeline is compared and pushed under its push lock, so a save's push and the drift check
never interleave with it. The drift check (`resync`) reports a hand edit as soon as Jenkins
announces it; this repairs it on the syncer's next pass over the workspace.

A pipeline the push fails for is listed in `failed` with the reason and stays as it was. A
Jenkins that does not answer at all ends the pass with `JenkinsUnreachable` (UNAVAILABLE to
the caller), so a down instance costs one failed request, not one per job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from libs.jenkins import JenkinsNotFound
from services.devops_server.ci.instances import JenkinsPool
from services.devops_server.ci.pipelines import PipelineStore
from services.devops_server.ci.resync import sha
from services.devops_server.ci.sync import JobPusher

logger = logging.getLogger(__name__)


@dataclass
class Convergence:
    """Job names of one workspace, by what converging did to them."""

    instance: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


async def converge_workspace(
    workspace_id: int, store: PipelineStore, pool: JenkinsPool, pusher: JobPusher
) -> Convergence:
    """Make every job of the workspace on its current instance match its definition."""
    instance, jenkins = await pool.for_workspace(workspace_id)
    outcome = Convergence(instance)
    folder = str(workspace_id)

    for pipeline_id in await store.ids_in_workspace(workspace_id):
        async with pusher.lock(pipeline_id):
            row = await store.get_by_id(pipeline_id)
            if row is None:  # deleted meanwhile
                continue

            try:
                held: str | None = await jenkins.get_job_config((folder, row.name))
            except JenkinsNotFound:
                held = None
            pending = row.generation > row.synced_generation or row.jenkins_name != row.name
            if held is not None and not pending and sha(held) == row.pushed_config_sha:
                outcome.unchanged.append(row.name)
                continue

            reason = await pusher.push_held(pipeline_id, force=True)

        if reason:
            outcome.failed[row.name] = reason
        elif held is None:
            outcome.created.append(row.name)
        else:
            outcome.updated.append(row.name)

    if outcome.created or outcome.updated or outcome.failed:
        logger.info(
            "workspace converged: workspace=%s instance=%s created=%d updated=%d "
            "unchanged=%d failed=%d",
            workspace_id,
            instance,
            len(outcome.created),
            len(outcome.updated),
            len(outcome.unchanged),
            len(outcome.failed),
        )
    return outcome
