"""Jobs changed, deleted or moved in Jenkins by hand are drift; our own pushes are not."""

from __future__ import annotations

from prometheus_client import REGISTRY

from tests.drift.conftest import Drift, until
from tests.pipelines.conftest import SCRIPT, SYNC, SYNC_ERROR


def drift_count(kind: str) -> float:
    value = REGISTRY.get_sample_value("workbench_drift_detected_total", {"kind": kind})
    return value or 0.0


async def sync_state(drift: Drift, name: str) -> tuple[str, str]:
    answer = await drift.ci.get(name)
    assert answer.status_code == 200, answer.text
    return answer.headers[SYNC], answer.headers.get(SYNC_ERROR, "")


async def reported(drift: Drift, name: str, prefix: str) -> bool:
    async def check() -> bool:
        state, error = await sync_state(drift, name)
        return state == "pending" and error.startswith(prefix)

    return await until(check)


async def tamper(drift: Drift, name: str) -> None:
    """A person edits the job's script in Jenkins."""
    config = await drift.client.get_job_config(drift.job(name))
    assert "building" in config
    await drift.client.create_or_update_job(drift.job(name), config.replace("building", "hacked"))


async def test_our_own_pushes_are_not_drift(drift: Drift) -> None:
    await drift.pipeline("app")
    changed = await drift.ci.http.put(
        drift.ci.path("/app"), json={"description": "second push"}, headers=drift.ci.auth()
    )
    assert changed.status_code == 200, changed.text
    before = drift_count("changed")

    sent = await drift.forward()
    await drift.settled()

    assert "item.updated" in [envelope["type"] for envelope in sent]
    assert await sync_state(drift, "app") == ("synced", "")
    assert drift_count("changed") == before


async def test_config_changed_in_jenkins_is_reported_as_drift(drift: Drift) -> None:
    await drift.pipeline("app")
    await drift.forward()
    await drift.settled()
    before = drift_count("changed")

    await tamper(drift, "app")
    await drift.forward()

    assert await reported(drift, "app", "drift: configuration changed in Jenkins")
    assert drift_count("changed") == before + 1


async def test_sync_restores_a_job_changed_in_jenkins(drift: Drift) -> None:
    await drift.pipeline("app")
    await tamper(drift, "app")
    await drift.forward()
    assert await reported(drift, "app", "drift:")

    answer = await drift.ci.http.post(drift.ci.path("/app:sync"), json={}, headers=drift.ci.auth())
    await drift.forward()
    await drift.settled()

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"result": "synced"}
    assert drift.ci.job("app").config.script == SCRIPT
    assert await sync_state(drift, "app") == ("synced", "")


async def test_job_deleted_in_jenkins_is_drift_and_sync_recreates_it(drift: Drift) -> None:
    await drift.pipeline("app")
    before = drift_count("deleted")

    await drift.client.delete_item(drift.job("app"))
    await drift.forward()
    assert await reported(drift, "app", "drift: job deleted in Jenkins")
    answer = await drift.ci.http.post(drift.ci.path("/app:sync"), json={}, headers=drift.ci.auth())

    assert answer.status_code == 200, answer.text
    assert drift.ci.job("app") is not None
    assert drift.ci.job("app").config.script == SCRIPT
    assert await sync_state(drift, "app") == ("synced", "")
    assert drift_count("deleted") == before + 1


async def test_job_renamed_in_jenkins_is_drift(drift: Drift) -> None:
    await drift.pipeline("app")

    await drift.client.rename_job(drift.job("app"), "by-hand")
    sent = await drift.forward()

    assert "item.locationChanged" in [envelope["type"] for envelope in sent]
    assert await reported(drift, "app", "drift: job renamed or moved in Jenkins")
    _, error = await sync_state(drift, "app")
    assert "by-hand" in error


async def test_renaming_a_pipeline_moves_its_job_without_drift(drift: Drift) -> None:
    await drift.pipeline("old-name")

    renamed = await drift.ci.http.put(
        drift.ci.path("/old-name/name"), json={"newName": "new-name"}, headers=drift.ci.auth()
    )
    sent = await drift.forward()
    await drift.settled()

    assert renamed.status_code == 200, renamed.text
    assert "item.locationChanged" in [envelope["type"] for envelope in sent]
    assert await sync_state(drift, "new-name") == ("synced", "")


async def test_folders_and_unknown_jobs_are_ignored(drift: Drift) -> None:
    await drift.pipeline("app")
    config = await drift.client.get_job_config(drift.job("app"))
    await drift.forward()

    await drift.client.create_or_update_job(drift.job("not-ours"), config)
    await drift.client.ensure_folder((str(drift.workspace_id), "sub"))
    await drift.forward()

    outcomes = await drift.outcomes()
    assert ("item.created", "ignored: no pipeline for this job") in outcomes
    assert ("item.created", "ignored: a folder") in outcomes
    assert await sync_state(drift, "app") == ("synced", "")


async def test_a_late_delete_event_after_sync_recreated_the_job_is_not_drift(
    drift: Drift,
) -> None:
    await drift.pipeline("app")
    await drift.client.delete_item(drift.job("app"))
    synced = await drift.ci.http.post(drift.ci.path("/app:sync"), json={}, headers=drift.ci.auth())

    sent = await drift.forward()
    await drift.settled()

    assert synced.status_code == 200, synced.text
    assert "item.deleted" in [envelope["type"] for envelope in sent]
    assert await sync_state(drift, "app") == ("synced", "")
