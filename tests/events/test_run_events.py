"""Run events move runs: in order, shuffled, repeated, late, and for builds Workbench did not
start; and through the whole chain, Jenkins to event-proxy to devops-server to REST."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from libs.jenkins import JenkinsClient
from services.event_proxy.app import EventProxy
from services.event_proxy.settings import EventProxySettings
from tests.apiserver.conftest import Stack
from tests.conftest import free_port
from tests.events.conftest import WEBHOOK, Receiver

START = 1_796_300_000_000


async def query(receiver: Receiver, sql: str, *args: Any) -> list[asyncpg.Record]:
    assert receiver.devops.settings.database_url
    connection = await asyncpg.connect(receiver.devops.settings.database_url)
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()


async def pipeline(receiver: Receiver, name: str = "build") -> int:
    """A workspace and a pipeline row; the workspace id."""
    made = await query(receiver, "INSERT INTO workspaces (alias) VALUES ($1) RETURNING id", name)
    workspace_id: int = made[0]["id"]
    await query(
        receiver,
        "INSERT INTO pipelines (workspace_id, name, type, spec, jenkinsfile, disabled, generation,"
        " synced_generation, sync_error, last_run_seq, last_run_state, total_runs,"
        " total_successes, weather)"
        " VALUES ($1, $2, 'CUSTOM', $3::jsonb, '', false, 1, 1, '', 0, '', 0, 0, '')",
        workspace_id,
        name,
        json.dumps({"name": name}),
    )
    return workspace_id


def build_events(workspace_id: int, result: str = "SUCCESS") -> list[dict[str, Any]]:
    """The four envelopes of one build started by hand in Jenkins with one parameter."""
    actions = [
        {
            "_class": "hudson.model.ParametersAction",
            "parameters": [
                {"_class": "hudson.model.StringParameterValue", "name": "ENV", "value": "prod"}
            ],
        },
        {
            "_class": "hudson.model.CauseAction",
            "causes": [{"_class": "hudson.model.Cause$UserIdCause", "userId": "alice"}],
        },
    ]
    events = []
    for kind, building, outcome in (
        ("run.initialize", True, None),
        ("run.started", True, None),
        ("run.completed", False, result),
        ("run.finalized", False, result),
    ):
        events.append(
            {
                "id": str(uuid.uuid4()),
                "type": kind,
                "source": f"job/{workspace_id}/job/build/",
                "url": f"job/{workspace_id}/job/build/1/",
                "time": "2026-12-03T13:48:15.041+0800",
                "dataType": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
                "data": {
                    "_class": "io.jenkins.plugins.generic.event.data.WorkflowRunData",
                    "actions": actions,
                    "building": building,
                    "duration": 0 if building else 4200,
                    "id": "1",
                    "number": 1,
                    "queueId": 77,
                    "result": outcome,
                    "timestamp": START,
                    "_parentFullName": str(workspace_id),
                    "_projectName": "build",
                    "_multiBranch": False,
                },
                "metaData": None,
            }
        )
    return events


async def runs(receiver: Receiver) -> list[asyncpg.Record]:
    return await query(
        receiver,
        "SELECT seq, state, trigger_type, started_by, parameters, build_number, duration_ms"
        " FROM runs ORDER BY seq",
    )


async def test_a_builds_four_events_move_its_run_to_the_result(receiver: Receiver) -> None:
    workspace_id = await pipeline(receiver)
    seen = []
    for event in build_events(workspace_id):
        assert (await receiver.post(event)).status_code == 200
        seen.append((await runs(receiver))[0]["state"])

    assert seen == ["RUNNING", "RUNNING", "SUCCESS", "SUCCESS"]
    summary = await query(
        receiver, "SELECT last_run_state, total_runs, total_successes, weather FROM pipelines"
    )
    assert tuple(summary[0]) == ("SUCCESS", 1, 1, "SUNNY")


async def test_a_build_started_in_jenkins_appears_with_its_trigger_and_parameters(
    receiver: Receiver,
) -> None:
    workspace_id = await pipeline(receiver)

    for event in build_events(workspace_id):
        await receiver.post(event)

    run = (await runs(receiver))[0]
    assert (run["seq"], run["trigger_type"], run["started_by"], run["build_number"]) == (
        1,
        "MANUAL",
        "alice",
        1,
    )
    assert json.loads(run["parameters"]) == [
        {"name": "ENV", "type": "PARAMETER_TYPE_STRING", "value": "prod"}
    ]
    assert run["duration_ms"] == 4200


@pytest.mark.parametrize("seed", range(5))
async def test_shuffled_and_repeated_events_give_the_same_final_state(
    receiver: Receiver, seed: int
) -> None:
    workspace_id = await pipeline(receiver)
    events = build_events(workspace_id, result="FAILURE")
    delivered = events + random.Random(seed).sample(events, 3)
    random.Random(seed).shuffle(delivered)

    for event in delivered:
        assert (await receiver.post(event)).status_code == 200

    final = await runs(receiver)
    assert [(r["seq"], r["state"]) for r in final] == [(1, "FAILED")]
    recorded = await query(receiver, "SELECT count(*) AS n FROM jenkins_events")
    assert recorded[0]["n"] == 4


async def test_a_late_started_event_after_completion_changes_nothing(receiver: Receiver) -> None:
    workspace_id = await pipeline(receiver)
    initialize, started, completed, finalized = build_events(workspace_id)

    for event in (initialize, completed, finalized, started):
        await receiver.post(event)

    assert [r["state"] for r in await runs(receiver)] == ["SUCCESS"]


async def test_events_of_a_job_workbench_does_not_know_change_nothing(receiver: Receiver) -> None:
    await pipeline(receiver)
    stray = build_events(9999)[0]

    answer = await receiver.post(stray)

    assert answer.status_code == 200
    assert await runs(receiver) == []
    outcome = await query(receiver, "SELECT outcome FROM jenkins_events")
    assert outcome[0]["outcome"] == "ignored: no pipeline for this job"


async def test_a_build_started_in_jenkins_shows_up_over_rest_through_event_proxy(
    stack: Stack, jenkins: Any, tmp_path: Path
) -> None:
    registered = await stack.http.post(
        "/apis/pipeline.amamba.io/v1alpha1/management/jenkins",
        json={
            "name": "jenkins-a",
            "default": True,
            "config": {
                "address": jenkins.url,
                "username": jenkins.admin_user,
                "password": jenkins.api_token,
            },
        },
        headers=stack.auth("admin"),
    )
    assert registered.status_code == 200, registered.text
    workspace = await stack.http.post(
        "/apis/amamba.io/v1alpha1/management/workspaces",
        json={"alias": "team-a"},
        headers=stack.auth("admin"),
    )
    workspace_id = workspace.json()["workspaceId"]
    pipelines = f"/apis/pipeline.amamba.io/v1alpha1/workspaces/{workspace_id}/pipelines"
    made = await stack.http.post(
        pipelines,
        json={"name": "hello", "type": "PIPELINE_TYPE_CUSTOM"},
        headers=stack.auth("admin"),
    )
    assert made.status_code == 200, made.text
    script = "pipeline { agent any\n stages { stage('a') { steps { echo 'hi' } } } }"
    put = await stack.http.put(
        f"{pipelines}/hello/jenkinsfile", json={"jenkinsfile": script}, headers=stack.auth("admin")
    )
    assert put.status_code == 200, put.text

    assert stack.settings.internal_token
    proxy = EventProxy(
        EventProxySettings(
            port=free_port(),
            outbox_dir=tmp_path / "outbox",
            target_url=f"http://127.0.0.1:{stack.devops.http_port}{WEBHOOK}",
            token=stack.settings.internal_token,
            instance="jenkins-a",
        )
    )
    await proxy.start()
    try:
        jenkins.receiver = f"http://127.0.0.1:{proxy.port}/event"
        async with JenkinsClient(jenkins.url, jenkins.admin_user, jenkins.api_token) as client:
            await client.build(f"{workspace_id}/hello")
        listed: list[dict[str, Any]] = []
        for _ in range(200):
            answer = await stack.http.get(f"{pipelines}/hello/runs", headers=stack.auth("admin"))
            listed = answer.json()["items"]
            if listed and listed[0]["state"] == "SUCCESS":
                break
            await asyncio.sleep(0.05)
    finally:
        await proxy.stop()

    assert [(r["runId"], r["state"], r["triggerType"]) for r in listed] == [
        ("1", "SUCCESS", "MANUAL")
    ]
    assert listed[0]["startedBy"] == jenkins.admin_user


async def moved(receiver: Receiver) -> int:
    """A pipeline of a workspace that uses jenkins-b now, after jenkins-a; the workspace."""
    await receiver.devops.instances.register(
        "jenkins-b", "http://127.0.0.1:2", "admin", "token", default=False, options={}
    )
    return await pipeline(receiver)


async def deliver(
    receiver: Receiver, events: list[dict[str, Any]], instance: str = "jenkins-a"
) -> None:
    for event in events:
        assert (await receiver.post(event, instance=instance)).status_code == 200


async def runs_by_instance(receiver: Receiver) -> list[tuple[Any, ...]]:
    """(seq, instance, queue item, build number, state) of every run."""
    rows = await query(
        receiver, "SELECT seq, jenkins, queue_id, build_number, state FROM runs ORDER BY seq"
    )
    return [tuple(r) for r in rows]


@pytest.mark.parametrize(("delivered", "old_state"), [(4, "FAILED"), (2, "RUNNING")])
async def test_the_same_build_number_on_another_instance_is_another_run(
    receiver: Receiver, delivered: int, old_state: str
) -> None:
    workspace_id = await moved(receiver)
    # Build 1 on jenkins-a, finished or still running (its first `delivered` events).
    await deliver(receiver, build_events(workspace_id, result="FAILURE")[:delivered])

    # After the move, jenkins-b numbers builds from 1 again.
    await deliver(receiver, build_events(workspace_id), "jenkins-b")

    assert await runs_by_instance(receiver) == [
        (1, "jenkins-a", 77, 1, old_state),
        (2, "jenkins-b", 77, 1, "SUCCESS"),
    ]


async def test_a_queue_item_id_is_matched_on_the_instance_the_run_was_handed_to(
    receiver: Receiver,
) -> None:
    workspace_id = await moved(receiver)
    await receiver.devops.runs.create(
        workspace_id, "build", lambda _: [], trigger_type="MANUAL", started_by="alice"
    )
    # Handed to jenkins-a as its queue item 77, as the dispatcher records it.
    await query(receiver, "UPDATE runs SET jenkins = 'jenkins-a', queue_id = 77")

    await deliver(receiver, build_events(workspace_id), "jenkins-b")  # its own queue item 77
    first = await runs_by_instance(receiver)
    await deliver(receiver, build_events(workspace_id))  # jenkins-a's
    then = await runs_by_instance(receiver)

    assert first == [(1, "jenkins-a", 77, None, "QUEUE"), (2, "jenkins-b", 77, 1, "SUCCESS")]
    assert then == [(1, "jenkins-a", 77, 1, "SUCCESS"), (2, "jenkins-b", 77, 1, "SUCCESS")]
