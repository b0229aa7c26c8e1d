"""devops-server's Jenkins event endpoint: who may post, what is a valid envelope, once only."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from libs.jenkins import JenkinsClient
from sandbox.jenkins import JenkinsStandIn
from services.event_proxy.app import EventProxy
from services.event_proxy.settings import EventProxySettings
from tests.conftest import free_port
from tests.events.conftest import WEBHOOK, Receiver


def envelope(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "type": "run.started",
        "source": "job/7/job/build/",
        "url": "job/7/job/build/1/",
        "time": "2026-12-03T13:48:15.041+0800",
        "dataType": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
        "data": {"id": "1", "number": 1, "_parentFullName": "7", "_projectName": "build"},
        "metaData": None,
    }
    body.update(overrides)
    return body


async def rows(receiver: Receiver, query: str) -> list[asyncpg.Record]:
    assert receiver.devops.settings.database_url
    connection = await asyncpg.connect(receiver.devops.settings.database_url)
    try:
        return list(await connection.fetch(query))
    finally:
        await connection.close()


async def test_a_valid_envelope_is_recorded_with_its_plugin_time(receiver: Receiver) -> None:
    body = envelope()

    answer = await receiver.post(body)

    assert answer.status_code == 200
    assert answer.json() == {}
    recorded = await rows(receiver, "SELECT id, type, event_time, instance FROM jenkins_events")
    assert [(r["id"], r["type"], r["instance"]) for r in recorded] == [
        (body["id"], "run.started", "jenkins-a")
    ]
    assert recorded[0]["event_time"].isoformat() == "2026-12-03T05:48:15.041000+00:00"


async def test_a_repeated_event_is_acknowledged_and_recorded_once(receiver: Receiver) -> None:
    body = envelope()
    before = await duplicates(receiver)

    first = await receiver.post(body)
    second = await receiver.post(body)

    assert first.status_code == second.status_code == 200
    assert len(await rows(receiver, "SELECT id FROM jenkins_events")) == 1
    assert await duplicates(receiver) == before + 1


async def duplicates(receiver: Receiver) -> float:
    """devops-server's count of repeated run.started events (its metrics span the tests)."""
    metrics = await receiver.http.get("/metrics")
    sample = 'workbench_events_duplicate_total{instance="jenkins-a",type="run.started"} '
    for line in metrics.text.splitlines():
        if line.startswith(sample):
            return float(line.removeprefix(sample))
    return 0.0


async def test_a_post_without_the_token_is_401(receiver: Receiver) -> None:
    answer = await receiver.http.post(WEBHOOK, json=envelope())
    wrong = await receiver.post(envelope(), token="not-the-token")

    assert answer.status_code == wrong.status_code == 401
    assert await rows(receiver, "SELECT id FROM jenkins_events") == []


async def test_a_post_from_an_unregistered_jenkins_is_403(receiver: Receiver) -> None:
    answer = await receiver.post(envelope(), instance="stranger")

    assert answer.status_code == 403
    assert "stranger" in answer.json()["message"]


async def test_a_body_that_is_not_json_is_400_and_kept(receiver: Receiver) -> None:
    answer = await receiver.http.post(WEBHOOK, content=b"{not json", headers=receiver.headers())

    assert answer.status_code == 400
    kept = await rows(receiver, "SELECT reason, body FROM rejected_events")
    assert [(r["reason"], r["body"]) for r in kept] == [("body: not JSON", "{not json")]


async def test_an_envelope_without_an_id_is_400_naming_it(receiver: Receiver) -> None:
    body = envelope()
    del body["id"]

    answer = await receiver.post(body)

    assert answer.status_code == 400
    assert answer.json()["message"].startswith("id")
    assert answer.json()["code"] == 3


async def test_an_unknown_event_type_is_400_naming_it(receiver: Receiver) -> None:
    answer = await receiver.post(envelope(type="run.exploded"))

    assert answer.status_code == 400
    assert "run.exploded" in answer.json()["message"]


async def test_a_body_that_is_an_array_is_400(receiver: Receiver) -> None:
    answer = await receiver.post([envelope()])

    assert answer.status_code == 400
    assert "object" in answer.json()["message"]


CONFIG = """<?xml version='1.1' encoding='UTF-8'?>
<flow-definition plugin="workflow-job">
  <definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" plugin="workflow-cps">
    <script>pipeline { agent any
  stages { stage('a') { steps { echo 'hi' } } } }</script>
    <sandbox>true</sandbox>
  </definition>
  <disabled>false</disabled>
</flow-definition>
"""


async def test_a_builds_events_arrive_through_event_proxy(
    receiver: Receiver, jenkins: JenkinsStandIn, tmp_path: Path
) -> None:
    proxy = EventProxy(
        EventProxySettings(
            port=free_port(),
            outbox_dir=tmp_path / "outbox",
            target_url=f"http://127.0.0.1:{receiver.devops.http_port}{WEBHOOK}",
            token=receiver.token,
            instance="jenkins-a",
        )
    )
    await proxy.start()
    try:
        jenkins.receiver = f"http://127.0.0.1:{proxy.port}/event"
        async with JenkinsClient(jenkins.url, jenkins.admin_user, jenkins.api_token) as client:
            await client.ensure_folder("7")
            await client.create_or_update_job("7/build", CONFIG)
            await client.build("7/build")
        await jenkins.wait_for_run("7/build", 1)
        await jenkins.drain_events()

        run_events: list[str] = []
        for _ in range(300):
            recorded = await rows(
                receiver, "SELECT type FROM jenkins_events ORDER BY event_time, received_at"
            )
            run_events = [r["type"] for r in recorded if r["type"].startswith("run.")]
            if len(run_events) == 4:
                break
            await asyncio.sleep(0.05)
    finally:
        await proxy.stop()

    assert sorted(run_events) == sorted(
        ["run.initialize", "run.started", "run.completed", "run.finalized"]
    )
