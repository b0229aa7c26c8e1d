"""Builds whose events were all lost are imported by the resync loop."""

from __future__ import annotations

from typing import Any

import asyncpg
from prometheus_client import REGISTRY

from tests.drift.conftest import Drift, until


def imported_count() -> float:
    return REGISTRY.get_sample_value("workbench_resync_imported_total") or 0.0


async def runs(drift: Drift, name: str) -> list[dict[str, Any]]:
    answer = await drift.ci.http.get(drift.ci.path(f"/{name}/runs"), headers=drift.ci.auth())
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json().get("items", [])
    return items


async def build_in_jenkins(drift: Drift, name: str) -> None:
    """Someone presses "Build" in Jenkins; no event reaches Workbench."""
    await drift.client.build(drift.job(name))

    async def built() -> bool:
        job = drift.ci.jenkins.item(f"{drift.workspace_id}/{name}")
        return bool(job.builds()) and not job.builds()[-1].building

    assert await until(built)


async def test_build_started_in_jenkins_without_events_is_imported(drift: Drift) -> None:
    await drift.pipeline("app")
    before = imported_count()
    await build_in_jenkins(drift, "app")

    drift.receiver.devops.resync.interval = 0.2
    drift.receiver.devops.resync.kick()

    async def appeared() -> bool:
        return len(await runs(drift, "app")) == 1

    assert await until(appeared)
    (run,) = await runs(drift, "app")
    assert run["state"] == "SUCCESS"
    assert imported_count() == before + 1


async def test_known_builds_are_not_imported_again(drift: Drift) -> None:
    await drift.pipeline("app")
    await build_in_jenkins(drift, "app")
    first = await drift.receiver.devops.resync.import_missed()

    again = await drift.receiver.devops.resync.import_missed()

    assert (first, again) == (1, 0)
    assert len(await runs(drift, "app")) == 1


async def test_builds_of_the_instance_a_workspace_left_do_not_hide_new_ones(drift: Drift) -> None:
    await drift.pipeline("app")
    url = drift.ci.stack.settings.database_url
    assert url
    connection = await asyncpg.connect(url)
    try:
        # Build 5 was the last one on the instance the workspace used before a move.
        await connection.execute(
            "INSERT INTO runs (pipeline_id, workspace_id, seq, jenkins, build_number, state,"
            " trigger_type, started_by, parameters, description, duration_ms)"
            " SELECT id, workspace_id, 1, 'jenkins-old', 5, 'SUCCESS', 'MANUAL', 'alice',"
            " '[]'::jsonb, '', 0 FROM pipelines WHERE workspace_id = $1 AND name = 'app'",
            drift.workspace_id,
        )
        await connection.execute(
            "UPDATE pipelines SET last_run_seq = 1 WHERE workspace_id = $1", drift.workspace_id
        )
    finally:
        await connection.close()
    await build_in_jenkins(drift, "app")

    imported = await drift.receiver.devops.resync.import_missed()

    assert imported == 1
    listed = sorted((r["runId"], r["state"]) for r in await runs(drift, "app"))
    assert listed == [("1", "SUCCESS"), ("2", "SUCCESS")]
