"""python-jenkins (synchronous, run in a thread) against the stand-in: the REST surface."""

from __future__ import annotations

import asyncio
import re

import httpx
import jenkins
import pytest

from sandbox.jenkins import JenkinsStandIn
from tests.sandbox.jenkins.helpers import (
    declarative,
    finished,
    pipeline_xml,
    secret_text_xml,
    stage,
    string_parameter,
    until,
)

LONG = declarative(stage("Wait", "sh 'sleep 3600'"))
QUICK = declarative(stage("Build", 'echo "hello ${params.WHO}"'))


async def test_whoami_names_the_admin(server: jenkins.Jenkins) -> None:
    me = await asyncio.to_thread(server.get_whoami)

    assert me["id"] == "admin"


async def test_version_comes_from_the_x_jenkins_header(server: jenkins.Jenkins) -> None:
    await asyncio.to_thread(server.get_whoami)

    assert await asyncio.to_thread(server.get_version) == "2.426.3"


async def test_request_without_credentials_is_refused(standin: JenkinsStandIn) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{standin.url}api/json")

    assert response.status_code == 401


async def test_wrong_token_is_refused(standin: JenkinsStandIn) -> None:
    wrong = jenkins.Jenkins(standin.url, username="admin", password="not-the-token")

    with pytest.raises(jenkins.JenkinsException, match=r"\[401\]"):
        await asyncio.to_thread(wrong.get_info)


async def test_folder_and_job_are_listed(server: jenkins.Jenkins) -> None:
    await asyncio.to_thread(server.create_folder, "ws")
    await asyncio.to_thread(server.create_job, "ws/pipe", pipeline_xml(QUICK))

    jobs = await asyncio.to_thread(server.get_all_jobs)

    assert [(j["fullname"], j["_class"]) for j in jobs] == [
        ("ws", "com.cloudbees.hudson.plugins.folder.Folder"),
        ("ws/pipe", "org.jenkinsci.plugins.workflow.job.WorkflowJob"),
    ]


async def test_job_info_exports_parameter_definitions(server: jenkins.Jenkins) -> None:
    xml = pipeline_xml(QUICK, parameters=string_parameter("WHO", "world"))
    await asyncio.to_thread(server.create_job, "pipe", xml)

    info = await asyncio.to_thread(server.get_job_info, "pipe")

    definitions = info["property"][0]["parameterDefinitions"]
    assert definitions[0]["name"] == "WHO"
    assert definitions[0]["defaultParameterValue"]["value"] == "world"
    assert info["color"] == "notbuilt"
    assert info["nextBuildNumber"] == 1


TRIGGERS = (
    "<org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty><triggers>"
    "<hudson.triggers.TimerTrigger><spec>H 2 * * *</spec></hudson.triggers.TimerTrigger>"
    "</triggers></org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty>"
)


async def test_job_info_lists_its_properties_in_config_order(server: jenkins.Jenkins) -> None:
    xml = pipeline_xml(QUICK, parameters=string_parameter("WHO"), concurrent=False)
    xml = xml.replace("<properties>", f"<properties>{TRIGGERS}")
    await asyncio.to_thread(server.create_job, "pipe", xml)

    info = await asyncio.to_thread(server.get_job_info, "pipe")

    assert [p["_class"] for p in info["property"]] == [
        "org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty",
        "hudson.model.ParametersDefinitionProperty",
        "org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty",
    ]
    assert info["property"][0] == {"_class": info["property"][0]["_class"]}
    assert info["concurrentBuild"] is False


async def test_legacy_top_level_timer_trigger_counts_as_the_triggers_property(
    server: jenkins.Jenkins,
) -> None:
    legacy = "<triggers><hudson.triggers.TimerTrigger><spec>@daily</spec>"
    xml = pipeline_xml(QUICK).replace(
        "<triggers/>", f"{legacy}</hudson.triggers.TimerTrigger></triggers>"
    )
    await asyncio.to_thread(server.create_job, "pipe", xml)
    await asyncio.to_thread(server.create_job, "plain", pipeline_xml(QUICK))

    info = await asyncio.to_thread(server.get_job_info, "pipe")
    plain = await asyncio.to_thread(server.get_job_info, "plain")

    assert info["property"] == [
        {"_class": "org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty"}
    ]
    assert plain["property"] == []


@pytest.mark.parametrize(
    ("quiet_period", "why"),
    [
        (600, r"In the quiet period\. Expires in 9 min 5\d sec"),
        (10, r"In the quiet period\. Expires in 9\.\d sec"),
    ],
)
async def test_queue_item_says_when_its_quiet_period_expires(
    standin: JenkinsStandIn, server: jenkins.Jenkins, quiet_period: int, why: str
) -> None:
    standin.time_scale = 1
    standin.jenkins.settings.quiet_period = quiet_period
    await asyncio.to_thread(server.create_job, "pipe", pipeline_xml(QUICK))
    queue_id = await asyncio.to_thread(server.build_job, "pipe")

    item = await asyncio.to_thread(server.get_queue_item, queue_id)

    assert item["_class"] == "hudson.model.Queue$WaitingItem"
    assert re.fullmatch(why, item["why"])
    await asyncio.to_thread(server.cancel_queue, queue_id)


async def test_duplicate_job_name_is_refused(server: jenkins.Jenkins) -> None:
    await asyncio.to_thread(server.create_job, "pipe", pipeline_xml(QUICK))

    with pytest.raises(jenkins.JenkinsException, match="already exists"):
        await asyncio.to_thread(server.create_job, "pipe", pipeline_xml(QUICK))


async def test_job_in_missing_folder_is_refused(server: jenkins.Jenkins) -> None:
    with pytest.raises(jenkins.JenkinsException):
        await asyncio.to_thread(server.create_job, "nowhere/pipe", pipeline_xml(QUICK))


async def test_config_xml_reads_back_what_was_posted(server: jenkins.Jenkins) -> None:
    await asyncio.to_thread(server.create_job, "pipe", pipeline_xml(QUICK))
    updated = pipeline_xml(QUICK, description="second version")

    await asyncio.to_thread(server.reconfig_job, "pipe", updated)

    assert await asyncio.to_thread(server.get_job_config, "pipe") == updated


async def test_disabled_job_cannot_be_built(server: jenkins.Jenkins) -> None:
    await asyncio.to_thread(server.create_job, "pipe", pipeline_xml(QUICK))
    await asyncio.to_thread(server.disable_job, "pipe")

    with pytest.raises(Exception, match="409"):
        await asyncio.to_thread(server.build_job, "pipe")
    config = await asyncio.to_thread(server.get_job_config, "pipe")
    assert "<disabled>true</disabled>" in config


async def test_rename_keeps_the_job_under_its_new_name(server: jenkins.Jenkins) -> None:
    await asyncio.to_thread(server.create_job, "old", pipeline_xml(QUICK))

    await asyncio.to_thread(server.rename_job, "old", "new")

    assert await asyncio.to_thread(server.job_exists, "new")
    assert not await asyncio.to_thread(server.job_exists, "old")


async def test_delete_removes_the_job(server: jenkins.Jenkins) -> None:
    await asyncio.to_thread(server.create_job, "pipe", pipeline_xml(QUICK))

    await asyncio.to_thread(server.delete_job, "pipe")

    assert not await asyncio.to_thread(server.job_exists, "pipe")


async def test_build_with_parameters_becomes_a_build(
    standin: JenkinsStandIn, server: jenkins.Jenkins
) -> None:
    xml = pipeline_xml(QUICK, parameters=string_parameter("WHO", "world"))
    await asyncio.to_thread(server.create_folder, "ws")
    await asyncio.to_thread(server.create_job, "ws/pipe", xml)

    queue_id = await asyncio.to_thread(server.build_job, "ws/pipe", {"WHO": "bob"})
    item = await until(lambda: standin.jenkins.queue[queue_id].run and queue_id)
    await finished(standin.jenkins.queue[item])
    queued = await asyncio.to_thread(server.get_queue_item, queue_id)
    number = queued["executable"]["number"]
    info = await asyncio.to_thread(server.get_build_info, "ws/pipe", number)

    assert queued["_class"] == "hudson.model.Queue$LeftItem"
    assert info["result"] == "SUCCESS"
    assert info["actions"][0]["parameters"] == [
        {"_class": "hudson.model.StringParameterValue", "name": "WHO", "value": "bob"}
    ]
    assert info["actions"][1]["causes"][0]["_class"] == "hudson.model.Cause$UserIdCause"


async def test_console_output_is_the_pipeline_log(
    standin: JenkinsStandIn, server: jenkins.Jenkins
) -> None:
    xml = pipeline_xml(QUICK, parameters=string_parameter("WHO", "world"))
    await asyncio.to_thread(server.create_job, "pipe", xml)
    queue_id = await asyncio.to_thread(server.build_job, "pipe", {"WHO": "bob"})
    await until(lambda: standin.jenkins.queue[queue_id].run)
    await finished(standin.jenkins.queue[queue_id])

    console = await asyncio.to_thread(server.get_build_console_output, "pipe", 1)

    assert console.startswith("Started by user admin\n[Pipeline] Start of Pipeline\n")
    assert "[Pipeline] { (Build)\n[Pipeline] echo\nhello bob\n" in console
    assert console.endswith("[Pipeline] End of Pipeline\nFinished: SUCCESS\n")


async def test_stop_build_aborts_it(standin: JenkinsStandIn, server: jenkins.Jenkins) -> None:
    await asyncio.to_thread(server.create_job, "pipe", pipeline_xml(LONG))
    queue_id = await asyncio.to_thread(server.build_job, "pipe")
    run = await until(lambda: standin.jenkins.queue[queue_id].run)
    await until(lambda: "sleep 3600" in bytes(run.log).decode())

    await asyncio.to_thread(server.stop_build, "pipe", 1)
    await until(lambda: not run.building)

    info = await asyncio.to_thread(server.get_build_info, "pipe", 1)
    assert info["result"] == "ABORTED"


async def test_build_stages_come_from_the_stage_view(
    standin: JenkinsStandIn, server: jenkins.Jenkins
) -> None:
    script = declarative(stage("One", "echo 'a'") + "\n" + stage("Two", "sh 'exit 3'"))
    await asyncio.to_thread(server.create_job, "pipe", pipeline_xml(script))
    queue_id = await asyncio.to_thread(server.build_job, "pipe")
    await until(lambda: standin.jenkins.queue[queue_id].run)
    await finished(standin.jenkins.queue[queue_id])

    stages = await asyncio.to_thread(server.get_build_stages, "pipe", 1)

    assert stages["status"] == "FAILED"
    assert [(s["name"], s["status"]) for s in stages["stages"]] == [
        ("One", "SUCCESS"),
        ("Two", "FAILED"),
    ]


async def test_folder_credential_is_created_and_read(server: jenkins.Jenkins) -> None:
    await asyncio.to_thread(server.create_folder, "ws")

    await asyncio.to_thread(server.create_credential, "ws", secret_text_xml("token", "s3cr3t"))

    info = await asyncio.to_thread(server.get_credential_info, "token", "ws")
    listed = await asyncio.to_thread(server.list_credentials, "ws")
    config = await asyncio.to_thread(server.get_credential_config, "token", "ws")
    assert info["id"] == "token"
    assert info["typeName"] == "Secret text"
    assert [c["id"] for c in listed] == ["token"]
    assert "s3cr3t" not in config
    assert "<secret-redacted" in config


async def test_folder_credential_is_deleted(server: jenkins.Jenkins) -> None:
    await asyncio.to_thread(server.create_folder, "ws")
    await asyncio.to_thread(server.create_credential, "ws", secret_text_xml("token", "x"))

    await asyncio.to_thread(server.delete_credential, "token", "ws")

    assert not await asyncio.to_thread(server.credential_exists, "token", "ws")


async def test_folder_credential_config_is_replaced_and_builds_see_the_new_value(
    standin: JenkinsStandIn, server: jenkins.Jenkins
) -> None:
    steps = (
        "withCredentials([string(credentialsId: 'token', variable: 'T')]) {\n"
        " sh 'echo $T > seen.txt'\n}\narchiveArtifacts artifacts: 'seen.txt'"
    )
    await asyncio.to_thread(server.create_folder, "ws")
    await asyncio.to_thread(server.create_credential, "ws", secret_text_xml("token", "old-s3cret"))
    await asyncio.to_thread(
        server.create_job, "ws/pipe", pipeline_xml(declarative(stage("U", steps)))
    )

    await asyncio.to_thread(
        server.reconfig_credential, "ws", secret_text_xml("token", "new-s3cret")
    )

    queue_id = await asyncio.to_thread(server.build_job, "ws/pipe")
    await until(lambda: standin.jenkins.queue[queue_id].run)
    run = await finished(standin.jenkins.queue[queue_id])
    config = await asyncio.to_thread(server.get_credential_config, "token", "ws")
    assert run.artifacts == {"seen.txt": b"new-s3cret\n"}
    assert "new-s3cret" not in bytes(run.log).decode()
    assert "new-s3cret" not in config and "<secret-redacted" in config


async def test_duplicate_credential_is_a_conflict(standin: JenkinsStandIn) -> None:
    standin.create_job("ws/pipe", pipeline_xml(QUICK))
    url = f"{standin.url}job/ws/credentials/store/folder/domain/_/createCredentials"
    auth = (standin.admin_user, standin.api_token)
    headers = {"Content-Type": "application/xml"}

    async with httpx.AsyncClient(auth=auth) as http:
        first = await http.post(url, content=secret_text_xml("t", "x"), headers=headers)
        second = await http.post(url, content=secret_text_xml("t", "x"), headers=headers)

    assert (first.status_code, second.status_code) == (200, 409)


async def test_running_builds_are_listed_on_the_built_in_node(
    standin: JenkinsStandIn, server: jenkins.Jenkins
) -> None:
    await asyncio.to_thread(server.create_job, "pipe", pipeline_xml(LONG))
    queue_id = await asyncio.to_thread(server.build_job, "pipe")
    await until(lambda: standin.jenkins.queue[queue_id].run)

    running = await asyncio.to_thread(server.get_running_builds)

    assert [(b["name"], b["number"]) for b in running] == [("pipe", 1)]
