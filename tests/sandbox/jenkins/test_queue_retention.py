"""Left queue items are forgotten as Jenkins forgets them; builds keep their queue id.

Driven over HTTP with Workbench's own client (`libs.jenkins`) and plain httpx: a queue item
is answered while it waits, and for five minutes of virtual time after it left the queue;
after that, or after a restart, `queue/item/N/api/json` is a 404, while the build's JSON (and
the job's `builds[number,queueId]`) still tells which queue item it came from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from libs.jenkins import JenkinsClient, JenkinsNotFound
from sandbox.jenkins import JenkinsStandIn
from sandbox.jenkins._jenkins import LEFT_ITEM_RETENTION
from tests.sandbox.jenkins.helpers import declarative, pipeline_xml, stage, until

JOB = ("7", "build-app")
SCRIPT = declarative(stage("Build", "echo 'hi'"))


@pytest.fixture
async def jenkins(standin: JenkinsStandIn) -> AsyncIterator[JenkinsClient]:
    async with JenkinsClient(standin.url, standin.admin_user, standin.api_token) as client:
        await client.ensure_folder(JOB[:1])
        await client.create_or_update_job(JOB, pipeline_xml(SCRIPT))
        yield client


@pytest.fixture
async def http(standin: JenkinsStandIn) -> AsyncIterator[httpx.AsyncClient]:
    auth = (standin.admin_user, standin.api_token)
    async with httpx.AsyncClient(base_url=standin.url, auth=auth) as client:
        yield client


async def _started(standin: JenkinsStandIn, jenkins: JenkinsClient) -> tuple[int, int]:
    queue_id = await jenkins.build(JOB, delay_seconds=0)
    item = await until(lambda: standin.jenkins.queue[queue_id].run)
    return queue_id, item.number


async def test_left_item_is_answered_within_the_retention(
    standin: JenkinsStandIn, jenkins: JenkinsClient
) -> None:
    queue_id, number = await _started(standin, jenkins)

    item = await jenkins.queue_item(queue_id)

    assert not item.waiting
    assert item.build_number == number


async def test_left_item_is_forgotten_after_five_minutes(
    standin: JenkinsStandIn, jenkins: JenkinsClient, http: httpx.AsyncClient
) -> None:
    queue_id, _ = await _started(standin, jenkins)

    await standin.clock.sleep(LEFT_ITEM_RETENTION + 1)

    with pytest.raises(JenkinsNotFound):
        await jenkins.queue_item(queue_id)
    assert (await http.get(f"queue/item/{queue_id}/api/json")).status_code == 404
    assert (await http.post("queue/cancelItem", params={"id": queue_id})).status_code == 404


async def test_restart_forgets_left_items_but_keeps_waiting_ones(
    standin: JenkinsStandIn, jenkins: JenkinsClient
) -> None:
    left, _ = await _started(standin, jenkins)
    other = ("7", "later")
    await jenkins.create_or_update_job(other, pipeline_xml(SCRIPT))
    waiting = await jenkins.build(other, delay_seconds=100_000)

    await standin.restart()

    with pytest.raises(JenkinsNotFound):
        await jenkins.queue_item(left)
    assert (await jenkins.queue_item(waiting)).waiting


async def test_waiting_item_is_never_forgotten(
    standin: JenkinsStandIn, jenkins: JenkinsClient
) -> None:
    waiting = await jenkins.build(JOB, delay_seconds=100_000)

    await standin.clock.sleep(LEFT_ITEM_RETENTION + 1)

    assert (await jenkins.queue_item(waiting)).waiting


async def test_retention_is_a_setting() -> None:
    standin = JenkinsStandIn(time_scale=200.0, left_item_retention=10.0)
    await standin.start()
    try:
        async with JenkinsClient(standin.url, standin.admin_user, standin.api_token) as client:
            await client.ensure_folder(JOB[:1])
            await client.create_or_update_job(JOB, pipeline_xml(SCRIPT))
            queue_id, _ = await _started(standin, client)
            await standin.clock.sleep(11)

            with pytest.raises(JenkinsNotFound):
                await client.queue_item(queue_id)
    finally:
        await standin.stop()


async def test_builds_carry_their_queue_id(
    standin: JenkinsStandIn, jenkins: JenkinsClient, http: httpx.AsyncClient
) -> None:
    first, one = await _started(standin, jenkins)
    second, two = await _started(standin, jenkins)
    await standin.clock.sleep(LEFT_ITEM_RETENTION + 1)

    listed = await http.get(
        "job/7/job/build-app/api/json", params={"tree": "builds[number,queueId]"}
    )
    build = await http.get(f"job/7/job/build-app/{one}/api/json")

    assert listed.status_code == 200
    assert {"_class": build.json()["_class"], "number": two, "queueId": second} in listed.json()[
        "builds"
    ]
    assert build.json()["queueId"] == first
    assert await jenkins.build_of_queue_item(JOB, first) == one
    assert await jenkins.build_of_queue_item(JOB, second) == two
    assert await jenkins.build_of_queue_item(JOB, second + 100) is None


async def test_bad_queue_ids_are_404_not_500(http: httpx.AsyncClient) -> None:
    assert (await http.get("queue/item/abc/api/json")).status_code == 404
    assert (await http.post("queue/cancelItem", params={"id": "abc"})).status_code == 404
