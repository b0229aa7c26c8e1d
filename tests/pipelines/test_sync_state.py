"""The database is the source of truth: saves never wait on Jenkins, and catch up later."""

from __future__ import annotations

import asyncio
import contextlib

from workbench_sdk.devops.v1 import pipelines_pb2 as sdk

from tests.pipelines.conftest import CI, SCRIPT, SYNC, SYNC_ERROR, new_workspace


async def _until_synced(ci: CI, name: str) -> str:
    state = ""

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            while state != "synced":
                state = (await ci.get(name)).headers[SYNC]
                await asyncio.sleep(0.05)
    return state


async def test_save_while_jenkins_is_down_is_kept_and_shown_pending(ci: CI) -> None:
    await ci.jenkins.down()

    created = await ci.create("build-app", description="kept")
    read = await ci.get("build-app")

    assert created.status_code == 200, created.text
    assert created.headers[SYNC] == "pending"
    assert "Jenkins 'jenkins-a'" in created.headers[SYNC_ERROR]
    assert read.json()["description"] == "kept"
    assert read.headers[SYNC] == "pending"


async def test_pending_pipeline_reaches_jenkins_once_it_is_back(ci: CI) -> None:
    await ci.create("build-app")
    await ci.jenkins.down()
    await ci.put_jenkinsfile("build-app")

    await ci.jenkins.up()

    assert await _until_synced(ci, "build-app") == "synced"
    assert ci.job("build-app").config.script == SCRIPT
    assert SYNC_ERROR not in (await ci.get("build-app")).headers


async def test_sync_while_jenkins_is_down_is_503_and_changes_nothing(ci: CI) -> None:
    await ci.create("build-app")
    await ci.jenkins.down()

    answer = await ci.http.post(ci.path("/build-app:sync"), json={}, headers=ci.auth())

    assert answer.status_code == 503
    assert "not pushed to Jenkins 'jenkins-a'" in answer.json()["message"]
    assert (await ci.get("build-app")).status_code == 200


async def test_workspace_without_jenkins_saves_and_says_why(ci: CI) -> None:
    # A second workspace, when two instances exist and neither is the default, has none.
    await ci.http.post(
        "/apis/pipeline.amamba.io/v1alpha1/management/jenkins",
        json={
            "name": "jenkins-b",
            "config": {
                "address": ci.jenkins.url,
                "username": ci.jenkins.admin_user,
                "password": ci.jenkins.api_token,
            },
        },
        headers=ci.auth("admin"),
    )
    other = await new_workspace(ci.stack, "team-b", {"alice": "workspace-admin"})

    answer = await ci.http.post(
        ci.path(workspace_id=other),
        json={"name": "build-app", "type": "PIPELINE_TYPE_CUSTOM"},
        headers=ci.auth(),
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers[SYNC] == "pending"
    assert "register one first" in answer.headers[SYNC_ERROR]


async def test_rename_while_jenkins_is_down_moves_the_job_later(ci: CI) -> None:
    await ci.create("before")
    await ci.jenkins.down()
    renamed = await ci.http.put(
        ci.path("/before/name"), json={"newName": "after"}, headers=ci.auth()
    )

    await ci.jenkins.up()

    assert renamed.status_code == 200, renamed.text
    assert await _until_synced(ci, "after") == "synced"
    assert ci.job("before") is None
    assert ci.job("after") is not None


async def test_delete_while_jenkins_is_down_removes_the_job_later(ci: CI) -> None:
    await ci.create("doomed")
    await ci.jenkins.down()
    deleted = await ci.http.delete(ci.path("/doomed"), headers=ci.auth())

    await ci.jenkins.up()
    for _ in range(200):
        if ci.job("doomed") is None:
            break
        await asyncio.sleep(0.05)

    assert deleted.status_code == 200
    assert (await ci.get("doomed")).status_code == 404
    assert ci.job("doomed") is None


async def test_a_new_pipeline_of_a_deleted_name_keeps_its_job(ci: CI) -> None:
    await ci.create("reborn")
    await ci.jenkins.down()
    await ci.http.delete(ci.path("/reborn"), headers=ci.auth())
    await ci.create("reborn", description="second life")

    await ci.jenkins.up()

    assert await _until_synced(ci, "reborn") == "synced"
    assert ci.job("reborn").description == "second life"


async def test_slow_jenkins_does_not_hold_the_answer_of_a_save(ci: CI) -> None:
    ci.stack.devops.pipeline_pusher.request_timeout = 0.5
    ci.jenkins.slow(2)

    created = await ci.create("patient")
    ci.jenkins.heal()

    assert created.status_code == 200, created.text
    assert created.headers[SYNC] == "pending"
    assert "did not answer within 0.5 s" in created.headers[SYNC_ERROR]
    assert await _until_synced(ci, "patient") == "synced"
    assert ci.job("patient") is not None


async def test_a_workspace_moved_to_another_jenkins_gets_its_jobs_there(ci: CI) -> None:
    from sandbox.jenkins import JenkinsStandIn

    await ci.create("moving")
    await ci.put_jenkinsfile("moving")
    other = JenkinsStandIn(time_scale=100.0)
    await other.start()
    try:
        config = {"address": other.url, "username": other.admin_user, "password": other.api_token}
        await ci.http.post(
            "/apis/pipeline.amamba.io/v1alpha1/management/jenkins",
            json={"name": "jenkins-b", "config": config},
            headers=ci.auth("admin"),
        )
        await ci.http.put(
            f"/apis/pipeline.amamba.io/v1alpha1/management/workspaces/{ci.workspace_id}/jenkins",
            json={"name": "jenkins-b"},
            headers=ci.auth("admin"),
        )

        devops = ci.stack.api.devops
        result = await devops.call(
            devops.pipelines.ResyncWorkspace, sdk.WorkspaceKey(workspace_id=ci.workspace_id)
        )

        assert result.pending == 1
        assert await _until_synced(ci, "moving") == "synced"
        assert other.item(f"{ci.workspace_id}/moving").config.script == SCRIPT
    finally:
        await other.stop()
