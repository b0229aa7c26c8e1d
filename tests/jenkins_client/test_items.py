"""Folders and jobs: creation, config round-trips, rename, enable/disable, delete, listing."""

from __future__ import annotations

import pytest

from libs.jenkins import FOLDER_CLASS, JenkinsClient, JenkinsConflict, JenkinsNotFound
from sandbox.jenkins import JenkinsStandIn
from tests.jenkins_client.helpers import declarative, pipeline_xml

SCRIPT = declarative(("Build", "echo 'hi'"))


async def test_version_is_read_from_the_x_jenkins_header(jenkins: JenkinsClient) -> None:
    version = await jenkins.version()

    assert version and version[0].isdigit()


async def test_ensure_folder_creates_missing_folders_at_every_level(
    jenkins: JenkinsClient, standin: JenkinsStandIn
) -> None:
    await jenkins.ensure_folder(("7", "team"))

    assert standin.folder("7/team").name == "team"
    listed = await jenkins.list_jobs("7")
    assert [(job["name"], job["_class"]) for job in listed] == [("team", FOLDER_CLASS)]


async def test_ensure_folder_twice_keeps_the_folder(jenkins: JenkinsClient) -> None:
    await jenkins.ensure_folder("7")
    await jenkins.create_or_update_job(("7", "app"), pipeline_xml(SCRIPT))

    await jenkins.ensure_folder("7")

    assert await jenkins.item_exists(("7", "app"))


async def test_ensure_folder_refuses_a_job_in_the_way(jenkins: JenkinsClient) -> None:
    await jenkins.create_or_update_job("app", pipeline_xml(SCRIPT))

    with pytest.raises(JenkinsConflict):
        await jenkins.ensure_folder("app")


async def test_job_config_round_trips(jenkins: JenkinsClient) -> None:
    await jenkins.ensure_folder("7")
    xml = pipeline_xml(SCRIPT, description="first")

    created = await jenkins.create_or_update_job(("7", "build-app"), xml)

    assert created is True
    assert "<description>first</description>" in await jenkins.get_job_config("7/build-app")


async def test_create_or_update_replaces_the_config_of_an_existing_job(
    jenkins: JenkinsClient,
) -> None:
    await jenkins.ensure_folder("7")
    await jenkins.create_or_update_job(("7", "build-app"), pipeline_xml(SCRIPT, description="a"))

    created = await jenkins.create_or_update_job(
        ("7", "build-app"), pipeline_xml(SCRIPT, description="b")
    )

    assert created is False
    assert "<description>b</description>" in await jenkins.get_job_config(("7", "build-app"))


async def test_names_are_quoted_into_one_path_segment(jenkins: JenkinsClient) -> None:
    await jenkins.ensure_folder("ws one")

    await jenkins.create_or_update_job(("ws one", "release 1.0 ü"), pipeline_xml(SCRIPT))

    listed = await jenkins.list_jobs("ws one")
    assert [job["name"] for job in listed] == ["release 1.0 ü"]


async def test_dot_dot_is_refused_as_a_name(jenkins: JenkinsClient) -> None:
    with pytest.raises(ValueError, match="invalid Jenkins item name"):
        await jenkins.item_exists(("7", ".."))


async def test_rename_moves_the_job_to_the_new_name(jenkins: JenkinsClient) -> None:
    await jenkins.create_or_update_job("old", pipeline_xml(SCRIPT))

    await jenkins.rename_job("old", "new")

    assert not await jenkins.item_exists("old")
    assert await jenkins.item_exists("new")


async def test_disable_and_enable_toggle_the_job(
    jenkins: JenkinsClient, standin: JenkinsStandIn
) -> None:
    await jenkins.create_or_update_job("app", pipeline_xml(SCRIPT))

    await jenkins.disable_job("app")
    disabled = "<disabled>true</disabled>" in await jenkins.get_job_config("app")
    await jenkins.enable_job("app")

    assert disabled
    assert "<disabled>false</disabled>" in await jenkins.get_job_config("app")


async def test_delete_item_removes_a_folder_and_its_jobs(jenkins: JenkinsClient) -> None:
    await jenkins.ensure_folder("7")
    await jenkins.create_or_update_job(("7", "app"), pipeline_xml(SCRIPT))

    await jenkins.delete_item("7")

    assert not await jenkins.item_exists("7")
    assert not await jenkins.item_exists(("7", "app"))


async def test_delete_item_of_a_missing_item_raises_unless_missing_ok(
    jenkins: JenkinsClient,
) -> None:
    await jenkins.delete_item("ghost", missing_ok=True)

    with pytest.raises(JenkinsNotFound):
        await jenkins.delete_item("ghost")
