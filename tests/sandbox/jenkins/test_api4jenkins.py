"""api4jenkins's AsyncJenkins against the stand-in: jobs, builds, logs, input, credentials."""

from __future__ import annotations

import zipfile
from pathlib import Path

from api4jenkins import AsyncJenkins
from api4jenkins.build import AsyncWorkflowRun
from api4jenkins.input import AsyncPendingInputAction
from api4jenkins.job import AsyncFolder, AsyncWorkflowJob

from sandbox.jenkins import JenkinsStandIn
from tests.sandbox.jenkins.helpers import (
    declarative,
    pipeline_xml,
    secret_text_xml,
    stage,
    string_parameter,
    until,
)

GREETING = declarative(stage("Greet", "echo \"hello ${params.WHO}\"\nsh 'sleep 60'"))
APPROVAL = declarative(stage("Deploy", "input message: 'Ship it?', ok: 'Ship'\necho 'shipped'"))


async def test_job_created_with_its_folder_has_workflow_classes(client: AsyncJenkins) -> None:
    await client.create_job("ws/pipe", pipeline_xml(GREETING), recursive=True)

    folder = await client.get_job("ws")
    job = await client.get_job("ws/pipe")

    assert isinstance(folder, AsyncFolder)
    assert isinstance(job, AsyncWorkflowJob)
    assert job.full_name == "ws/pipe"


async def test_queue_item_leads_to_the_build(client: AsyncJenkins) -> None:
    xml = pipeline_xml(GREETING, parameters=string_parameter("WHO", "world"))
    await client.create_job("ws/pipe", xml, recursive=True)

    item = await client.build_job("ws/pipe", WHO="ann")
    build = await until_build(item)

    assert isinstance(build, AsyncWorkflowRun)
    assert build.url.endswith("/job/ws/job/pipe/1/")
    parameters = await build.get_parameters()
    assert [(p.name, p.value) for p in parameters] == [("WHO", "ann")]


async def pending_input(client: AsyncJenkins, build: AsyncWorkflowRun) -> AsyncPendingInputAction:
    """The build's pending input as api4jenkins's async class (its own helper returns the
    synchronous one, a known api4jenkins slip), read from the same stage-view endpoints."""
    described = (await build.handle_req("GET", "wfapi/describe")).json()
    assert described["_links"].get("pendingInputActions")
    action = (await build.handle_req("GET", "wfapi/pendingInputActions")).json()[0]
    action["abortUrl"] = action["abortUrl"][action["abortUrl"].index("/job/") :]
    return AsyncPendingInputAction(client, action)


async def until_build(item: object) -> AsyncWorkflowRun:
    async def poll() -> AsyncWorkflowRun | None:
        return await item.get_build()  # type: ignore[attr-defined,no-any-return]

    for _ in range(500):
        build = await poll()
        if build is not None:
            return build
    raise AssertionError("the queue item never became a build")


async def test_progressive_output_reads_the_log_to_the_end(client: AsyncJenkins) -> None:
    xml = pipeline_xml(GREETING, parameters=string_parameter("WHO", "world"))
    await client.create_job("pipe", xml)
    build = await until_build(await client.build_job("pipe", WHO="ann"))

    lines = [line async for line in build.progressive_output()]

    assert "hello ann" in lines
    assert lines[-1] == "Finished: SUCCESS"


async def test_stopped_build_ends_aborted(standin: JenkinsStandIn, client: AsyncJenkins) -> None:
    await client.create_job("pipe", pipeline_xml(declarative(stage("Wait", "sleep 3600"))))
    build = await until_build(await client.build_job("pipe"))

    await build.stop()
    await until(lambda: not standin.run("pipe", 1).building)

    assert await build.result == "ABORTED"


async def test_pending_input_is_submitted(standin: JenkinsStandIn, client: AsyncJenkins) -> None:
    await client.create_job("pipe", pipeline_xml(APPROVAL))
    build = await until_build(await client.build_job("pipe"))
    await until(lambda: standin.run("pipe", 1).paused)

    pending = await pending_input(client, build)
    await pending.submit()
    await until(lambda: not standin.run("pipe", 1).building)

    assert await build.result == "SUCCESS"


async def test_pending_input_is_aborted(standin: JenkinsStandIn, client: AsyncJenkins) -> None:
    await client.create_job("pipe", pipeline_xml(APPROVAL))
    build = await until_build(await client.build_job("pipe"))
    await until(lambda: standin.run("pipe", 1).paused)

    pending = await pending_input(client, build)
    await pending.abort()
    await until(lambda: not standin.run("pipe", 1).building)

    assert await build.result == "ABORTED"


async def test_folder_credentials_are_created_and_listed(client: AsyncJenkins) -> None:
    await client.create_job("ws/pipe", pipeline_xml(GREETING), recursive=True)
    folder = await client.get_job("ws")
    domain = await folder.credentials.global_domain

    await domain.create(secret_text_xml("deploy-token", "s3cr3t"))

    credential = await domain.get("deploy-token")
    assert credential is not None
    assert "<secret-redacted" in await credential.configure()


async def test_rename_answers_with_the_new_location(client: AsyncJenkins) -> None:
    await client.create_job("old", pipeline_xml(GREETING))
    job = await client.get_job("old")

    await job.rename("new")

    assert job.url.endswith("/job/new/")
    assert await client.get_job("new") is not None


async def test_stages_are_read_from_the_stage_view(
    standin: JenkinsStandIn, client: AsyncJenkins
) -> None:
    skipped = stage("Deploy", "echo 'no'", extra="when { expression { return false } }")
    script = declarative(stage("Build", "echo 'built'") + "\n" + skipped)
    await client.create_job("ws/pipe", pipeline_xml(script), recursive=True)
    build = await until_build(await client.build_job("ws/pipe"))
    await until(lambda: not standin.run("ws/pipe", 1).building)

    described = (await build.handle_req("GET", "wfapi/describe")).json()

    assert described["status"] == "SUCCESS"
    assert [(s["name"], s["status"]) for s in described["stages"]] == [
        ("Build", "SUCCESS"),
        ("Deploy", "NOT_EXECUTED"),
    ]
    assert "pendingInputActions" not in described["_links"]


async def test_term_ends_the_build_aborted(standin: JenkinsStandIn, client: AsyncJenkins) -> None:
    await client.create_job("pipe", pipeline_xml(declarative(stage("Wait", "sleep 3600"))))
    build = await until_build(await client.build_job("pipe"))
    await until(lambda: "Sleeping for" in bytes(standin.run("pipe", 1).log).decode())

    answer = await build.term()
    await until(lambda: not standin.run("pipe", 1).building)

    assert answer.status_code == 302
    assert await build.result == "ABORTED"
    assert bytes(standin.run("pipe", 1).log).decode().endswith("Finished: ABORTED\n")


async def test_artifacts_are_listed_and_saved_as_one_archive(
    standin: JenkinsStandIn, client: AsyncJenkins, tmp_path: Path
) -> None:
    steps = (
        "writeFile file: 'dist/app.txt', text: 'app'\nwriteFile file: 'dist/lib/a.jar', text: 'j'"
        "\narchiveArtifacts artifacts: 'dist/**'"
    )
    await client.create_job("pipe", pipeline_xml(declarative(stage("Package", steps))))
    build = await until_build(await client.build_job("pipe"))
    await until(lambda: not standin.run("pipe", 1).building)

    listed = await build.artifacts
    target = tmp_path / "archive.zip"
    await build.save_artifacts(str(target))

    assert sorted(a.path for a in listed) == ["dist/app.txt", "dist/lib/a.jar"]
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == ["archive/dist/app.txt", "archive/dist/lib/a.jar"]
        assert archive.read("archive/dist/app.txt") == b"app"
