"""The Generic Event plugin: what a receiver gets for runs and items, and how it is sent."""

from __future__ import annotations

import asyncio
import re

import httpx

from sandbox.jenkins import JenkinsStandIn
from tests.sandbox.jenkins.conftest import Receiver
from tests.sandbox.jenkins.helpers import build, declarative, pipeline_xml, stage

SCRIPT = declarative(stage("Build", "echo 'hi'"))
ENVELOPE_KEYS = {"data", "dataType", "id", "metaData", "source", "time", "type", "url"}


def configure(standin: JenkinsStandIn, receiver: Receiver) -> None:
    standin.apply_casc(f"unclassified:\n  eventDispatcher:\n    receiver: {receiver.url}\n")


async def test_a_build_emits_exactly_the_four_run_events(
    standin: JenkinsStandIn, receiver: Receiver
) -> None:
    standin.create_job("ws/pipe", pipeline_xml(SCRIPT))
    configure(standin, receiver)

    await build(standin, "ws/pipe")
    await standin.drain_events()

    assert receiver.types() == ["run.initialize", "run.started", "run.completed", "run.finalized"]


async def test_run_envelope_has_the_documented_shape(
    standin: JenkinsStandIn, receiver: Receiver
) -> None:
    standin.create_job("ws/pipe", pipeline_xml(SCRIPT))
    configure(standin, receiver)

    await build(standin, "ws/pipe")
    await standin.drain_events()

    started = receiver.bodies("run.started")[0]
    completed = receiver.bodies("run.completed")[0]
    assert set(started) == ENVELOPE_KEYS
    assert started["source"] == "job/ws/job/pipe/"
    assert started["url"] == "job/ws/job/pipe/1/"
    assert started["dataType"] == "org.jenkinsci.plugins.workflow.job.WorkflowRun"
    assert started["metaData"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}", started["time"])
    assert started["data"]["_class"] == "io.jenkins.plugins.generic.event.data.WorkflowRunData"
    assert (started["data"]["_parentFullName"], started["data"]["_projectName"]) == ("ws", "pipe")
    assert (started["data"]["building"], started["data"]["result"]) == (True, None)
    assert (completed["data"]["building"], completed["data"]["result"]) == (False, "SUCCESS")
    assert "url" not in started["data"]


async def test_events_carry_the_type_and_referrer_headers(
    standin: JenkinsStandIn, receiver: Receiver
) -> None:
    standin.create_job("pipe", pipeline_xml(SCRIPT))
    configure(standin, receiver)

    await build(standin, "pipe")
    await standin.drain_events()

    headers = receiver.posts[0]["headers"]
    assert headers["X-Event-Type"] == "run.initialize"
    assert headers["Referrer"] == standin.url
    assert headers["Content-Type"] == "application/json; charset=UTF-8"
    assert receiver.posts[0]["text"].startswith('{\n    "data"')


async def test_create_item_over_http_sends_item_created(
    standin: JenkinsStandIn, receiver: Receiver
) -> None:
    configure(standin, receiver)
    standin.create_job("ws/seed", pipeline_xml(SCRIPT))
    auth = (standin.admin_user, standin.api_token)

    async with httpx.AsyncClient(auth=auth) as http:
        await http.post(
            f"{standin.url}job/ws/createItem",
            params={"name": "pipe"},
            content=pipeline_xml(SCRIPT),
            headers={"Content-Type": "application/xml"},
        )
    await standin.drain_events()

    created = receiver.bodies("item.created")[-1]
    assert (created["source"], created["url"]) == ("job/ws/", "job/ws/job/pipe/")
    assert created["data"]["fullName"] == "ws/pipe"


async def test_rename_sends_one_location_changed_event(
    standin: JenkinsStandIn, receiver: Receiver
) -> None:
    job = standin.create_job("ws/old", pipeline_xml(SCRIPT))
    configure(standin, receiver)

    standin.jenkins.rename_item(job, "new")
    await standin.drain_events()

    assert receiver.types() == ["item.locationChanged"]
    assert receiver.posts[0]["json"]["metaData"] == {
        "newName": "ws/new",
        "newUrl": "job/ws/job/new/",
        "oldName": "ws/old",
        "oldUrl": "job/ws/job/old/",
    }


async def test_dropped_event_type_is_not_sent(standin: JenkinsStandIn, receiver: Receiver) -> None:
    standin.create_job("pipe", pipeline_xml(SCRIPT))
    configure(standin, receiver)
    standin.drop_events("run.started")

    await build(standin, "pipe")
    await standin.drain_events()

    assert receiver.types() == ["run.initialize", "run.completed", "run.finalized"]


async def test_failing_receiver_is_not_retried(standin: JenkinsStandIn, receiver: Receiver) -> None:
    standin.create_job("pipe", pipeline_xml(SCRIPT))
    configure(standin, receiver)
    receiver.status = 500

    await build(standin, "pipe")
    await standin.drain_events()

    assert len(receiver.posts) == 4


async def test_unreachable_receiver_does_not_hold_up_builds(standin: JenkinsStandIn) -> None:
    standin.create_job("pipe", pipeline_xml(SCRIPT))
    standin.receiver = "http://127.0.0.1:9/event"

    run = await build(standin, "pipe")
    await asyncio.wait_for(standin.drain_events(), 10)

    assert run.result == "SUCCESS"


async def test_no_receiver_means_nothing_is_sent(
    standin: JenkinsStandIn, receiver: Receiver
) -> None:
    standin.create_job("pipe", pipeline_xml(SCRIPT))

    await build(standin, "pipe")
    await standin.drain_events()

    assert receiver.posts == []


async def test_posting_config_xml_sends_item_updated(
    standin: JenkinsStandIn, receiver: Receiver
) -> None:
    standin.create_job("ws/pipe", pipeline_xml(SCRIPT))
    configure(standin, receiver)
    auth = (standin.admin_user, standin.api_token)

    async with httpx.AsyncClient(auth=auth) as http:
        await http.post(
            f"{standin.url}job/ws/job/pipe/config.xml",
            content=pipeline_xml(SCRIPT, description="changed"),
            headers={"Content-Type": "application/xml"},
        )
    await standin.drain_events()

    updated = receiver.bodies("item.updated")
    assert [(u["url"], u["data"]["description"]) for u in updated] == [
        ("job/ws/job/pipe/", "changed")
    ]
    assert updated[0]["dataType"] == "org.jenkinsci.plugins.workflow.job.WorkflowJob"


async def test_deleting_a_job_sends_item_deleted(
    standin: JenkinsStandIn, receiver: Receiver
) -> None:
    standin.create_job("ws/pipe", pipeline_xml(SCRIPT))
    configure(standin, receiver)
    auth = (standin.admin_user, standin.api_token)

    async with httpx.AsyncClient(auth=auth) as http:
        await http.post(f"{standin.url}job/ws/job/pipe/doDelete")
    await standin.drain_events()

    assert receiver.types() == ["item.deleted"]
    assert receiver.posts[0]["json"]["source"] == "job/ws/"


async def test_a_build_triggered_over_http_emits_the_run_events(
    standin: JenkinsStandIn, receiver: Receiver
) -> None:
    standin.create_job("ws/pipe", pipeline_xml(SCRIPT))
    configure(standin, receiver)
    auth = (standin.admin_user, standin.api_token)

    async with httpx.AsyncClient(auth=auth) as http:
        queued = await http.post(f"{standin.url}job/ws/job/pipe/build", params={"delay": "0sec"})
    await standin.wait_for_run("ws/pipe", 1)
    await standin.drain_events()

    assert queued.status_code == 201
    assert receiver.types() == ["run.initialize", "run.started", "run.completed", "run.finalized"]
    actions = receiver.bodies("run.started")[0]["data"]["actions"]
    causes = next(a["causes"] for a in actions if a.get("_class") == "hudson.model.CauseAction")
    assert [c.get("userId") for c in causes] == [standin.admin_user]


async def test_deleting_a_run_over_http_sends_run_deleted(
    standin: JenkinsStandIn, receiver: Receiver
) -> None:
    standin.create_job("ws/pipe", pipeline_xml(SCRIPT))
    await build(standin, "ws/pipe")
    configure(standin, receiver)
    auth = (standin.admin_user, standin.api_token)

    async with httpx.AsyncClient(auth=auth) as http:
        deleted = await http.post(f"{standin.url}job/ws/job/pipe/1/doDelete")
        gone = await http.get(f"{standin.url}job/ws/job/pipe/1/api/json")
    await standin.drain_events()

    assert (deleted.status_code, gone.status_code) == (302, 404)
    assert receiver.types() == ["run.deleted"]
    body = receiver.posts[0]["json"]
    assert (body["source"], body["url"]) == ("job/ws/job/pipe/", "job/ws/job/pipe/1/")
    assert body["data"]["number"] == 1


async def test_rename_over_http_sends_one_location_changed_event(
    standin: JenkinsStandIn, receiver: Receiver
) -> None:
    standin.create_job("ws/old", pipeline_xml(SCRIPT))
    configure(standin, receiver)
    auth = (standin.admin_user, standin.api_token)

    async with httpx.AsyncClient(auth=auth) as http:
        renamed = await http.post(f"{standin.url}job/ws/job/old/doRename", data={"newName": "new"})
    await standin.drain_events()

    assert renamed.headers["Location"].endswith("/job/ws/job/new/")
    assert receiver.types() == ["item.locationChanged"]
    assert receiver.posts[0]["json"]["metaData"]["oldUrl"] == "job/ws/job/old/"
    assert receiver.posts[0]["json"]["metaData"]["newUrl"] == "job/ws/job/new/"
