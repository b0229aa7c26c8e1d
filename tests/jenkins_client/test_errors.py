"""Failures become `libs.jenkins.errors`, each mapped to a domain error; crumbs; logging."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
import yaml

from libs.common.errors import Conflict, NotFound, Unavailable
from libs.jenkins import (
    JenkinsBadRequest,
    JenkinsClient,
    JenkinsConflict,
    JenkinsError,
    JenkinsNotFound,
    JenkinsUnauthorized,
    JenkinsUnreachable,
)
from sandbox.jenkins import JenkinsStandIn
from tests.jenkins_client.helpers import declarative, pipeline_xml

SCRIPT = declarative(("Build", "echo 'hi'"))


async def test_a_missing_job_is_not_found(jenkins: JenkinsClient) -> None:
    with pytest.raises(JenkinsNotFound) as caught:
        await jenkins.get_job_config(("7", "ghost"))

    assert isinstance(caught.value, NotFound) and caught.value.status == 404
    assert isinstance(caught.value.__cause__, httpx.HTTPStatusError)


async def test_a_wrong_token_is_unauthorized(standin: JenkinsStandIn) -> None:
    async with JenkinsClient(standin.url, standin.admin_user, "not-the-token") as jenkins:
        with pytest.raises(JenkinsUnauthorized) as caught:
            await jenkins.list_jobs()

    assert isinstance(caught.value, Unavailable) and caught.value.status == 401


async def test_a_stopped_jenkins_is_unreachable(
    jenkins: JenkinsClient, standin: JenkinsStandIn
) -> None:
    await standin.down()

    with pytest.raises(JenkinsUnreachable) as caught:
        await jenkins.list_jobs()

    assert isinstance(caught.value, Unavailable)
    assert isinstance(caught.value.__cause__, httpx.TransportError)


async def test_a_bad_gateway_is_unreachable(
    jenkins: JenkinsClient, standin: JenkinsStandIn
) -> None:
    standin.fail_with(502)

    with pytest.raises(JenkinsUnreachable) as caught:
        await jenkins.list_jobs()

    assert caught.value.status == 502


async def test_a_slow_jenkins_times_out_as_unreachable(standin: JenkinsStandIn) -> None:
    standin.slow(1.0)

    async with JenkinsClient(
        standin.url, standin.admin_user, standin.api_token, timeout=0.1
    ) as jenkins:
        with pytest.raises(JenkinsUnreachable, match="in time"):
            await jenkins.list_jobs()


async def test_a_server_error_is_a_plain_jenkins_error(
    jenkins: JenkinsClient, standin: JenkinsStandIn
) -> None:
    standin.fail_with(500)

    with pytest.raises(JenkinsError) as caught:
        await jenkins.list_jobs()

    assert type(caught.value) is JenkinsError and caught.value.status == 500


async def test_creating_a_duplicate_item_is_a_conflict(jenkins: JenkinsClient) -> None:
    await jenkins.create_or_update_job("app", pipeline_xml(SCRIPT))

    with pytest.raises(JenkinsConflict) as caught:
        await jenkins._send(  # the public API avoids this on purpose; Jenkins says 400
            "POST",
            "createItem",
            params={"name": "app"},
            content=pipeline_xml(SCRIPT).encode(),
            headers={"Content-Type": "application/xml"},
        )

    assert isinstance(caught.value, Conflict) and "already exists" in caught.value.message


async def test_building_a_disabled_job_is_a_conflict(jenkins: JenkinsClient) -> None:
    await jenkins.create_or_update_job("app", pipeline_xml(SCRIPT))
    await jenkins.disable_job("app")

    with pytest.raises(JenkinsConflict):
        await jenkins.build("app")


async def test_an_invalid_casc_document_is_a_bad_request(jenkins: JenkinsClient) -> None:
    problems = await jenkins.casc_check("nonsense:\n  key: 1\n")

    with pytest.raises(JenkinsBadRequest):
        await jenkins.casc_apply("nonsense:\n  key: 1\n")

    assert problems and "message" in problems[0]


async def test_casc_apply_then_check_accepts_a_valid_document(
    jenkins: JenkinsClient, standin: JenkinsStandIn
) -> None:
    document = "jenkins:\n  systemMessage: managed by Workbench\n"

    assert await jenkins.casc_check(document) == []
    await jenkins.casc_apply(document)

    assert standin.jenkins.settings.system_message == "managed by Workbench"


async def test_a_casc_document_can_pass_the_check_and_fail_half_applied(
    jenkins: JenkinsClient,
) -> None:
    # Only the setter refuses a negative executor count; the check calls no setter.
    document = (
        "jenkins:\n  systemMessage: half\n  numExecutors: -1\n"
        "unclassified:\n  eventDispatcher:\n    receiver: http://never.example/event\n"
    )

    assert await jenkins.casc_check(document) == []
    with pytest.raises(JenkinsError) as caught:
        await jenkins.casc_apply(document)

    assert caught.value.status == 500 and not isinstance(caught.value, Unavailable)
    running = yaml.safe_load(await jenkins.casc_export())
    assert running["jenkins"]["systemMessage"] == "half"  # set before the refused value
    assert running["jenkins"]["numExecutors"] == 2
    assert running["unclassified"]["eventDispatcher"]["receiver"] == ""  # never reached


async def test_casc_reload_rereads_the_source(tmp_path: Path) -> None:
    source = tmp_path / "jenkins.yaml"
    source.write_text("jenkins:\n  systemMessage: before\n")
    standin = JenkinsStandIn(time_scale=500, casc_path=source)
    await standin.start()

    try:
        async with JenkinsClient(standin.url, standin.admin_user, standin.api_token) as jenkins:
            source.write_text("jenkins:\n  systemMessage: after\n")
            await jenkins.casc_reload()
    finally:
        await standin.stop()

    assert standin.jenkins.settings.system_message == "after"


# Crumbs: only password-authenticated POSTs need one in the stand-in (and real Jenkins).


async def test_a_password_client_sends_the_crumb(standin: JenkinsStandIn) -> None:
    async with JenkinsClient(standin.url, standin.admin_user, standin.admin_password) as jenkins:
        await jenkins.ensure_folder("7")

        assert await jenkins.item_exists("7")


async def test_a_stale_crumb_is_fetched_again_once(standin: JenkinsStandIn) -> None:
    async with JenkinsClient(standin.url, standin.admin_user, standin.admin_password) as jenkins:
        await jenkins.ensure_folder("7")
        standin.jenkins.crumb_salt = "rotated"  # as after a Jenkins restart

        await jenkins.ensure_folder(("7", "team"))

        assert await jenkins.item_exists(("7", "team"))


async def test_no_crumb_is_needed_when_the_issuer_is_off(standin: JenkinsStandIn) -> None:
    standin.jenkins.settings.crumbs = False

    async with JenkinsClient(standin.url, standin.admin_user, standin.admin_password) as jenkins:
        await jenkins.ensure_folder("7")

        assert await jenkins.item_exists("7")


# Logging.


async def test_one_info_line_per_request_and_never_the_token(
    jenkins: JenkinsClient, standin: JenkinsStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="libs.jenkins")

    await jenkins.ensure_folder("7")
    with pytest.raises(JenkinsNotFound) as caught:
        await jenkins.get_job_config(("7", "ghost"))

    lines = [r.getMessage() for r in caplog.records if r.name.startswith("libs.jenkins")]
    assert [line.rsplit(" (", 1)[0] for line in lines] == [
        "GET /job/7/api/json 404",
        "GET /crumbIssuer/api/json 200",
        "POST /createItem 302",
        "GET /job/7/job/ghost/config.xml 404",
    ]
    assert standin.api_token not in caplog.text
    assert standin.api_token not in str(caught.value)
    assert standin.api_token not in repr(jenkins)
