"""Folder credentials: create, update in place, list, delete; the system store for the root."""

from __future__ import annotations

import pytest

from libs.jenkins import JenkinsClient, JenkinsNotFound
from sandbox.jenkins import JenkinsStandIn
from tests.jenkins_client.helpers import secret_text_xml


async def test_put_credential_creates_it_in_the_folder_store(jenkins: JenkinsClient) -> None:
    await jenkins.ensure_folder("7")

    created = await jenkins.put_credential("7", "git-token", secret_text_xml("git-token", "s3"))

    assert created is True
    assert await jenkins.list_credentials("7") == ["git-token"]


async def test_put_credential_again_updates_it(
    jenkins: JenkinsClient, standin: JenkinsStandIn
) -> None:
    await jenkins.ensure_folder("7")
    await jenkins.put_credential("7", "git-token", secret_text_xml("git-token", "s3", "old"))

    created = await jenkins.put_credential(
        "7", "git-token", secret_text_xml("git-token", "s4", "new")
    )

    assert created is False
    assert await jenkins.list_credentials("7") == ["git-token"]
    stored = standin.folder("7").credentials.domains["_"]["git-token"]
    assert stored.description == "new"


async def test_delete_credential_removes_it(jenkins: JenkinsClient) -> None:
    await jenkins.ensure_folder("7")
    await jenkins.put_credential("7", "a", secret_text_xml("a", "x"))
    await jenkins.put_credential("7", "b", secret_text_xml("b", "y"))

    await jenkins.delete_credential("7", "a")

    assert await jenkins.list_credentials("7") == ["b"]


async def test_delete_missing_credential_raises_unless_missing_ok(
    jenkins: JenkinsClient,
) -> None:
    await jenkins.ensure_folder("7")
    await jenkins.delete_credential("7", "ghost", missing_ok=True)

    with pytest.raises(JenkinsNotFound):
        await jenkins.delete_credential("7", "ghost")


async def test_the_root_path_uses_the_system_store(jenkins: JenkinsClient) -> None:
    await jenkins.put_credential((), "global", secret_text_xml("global", "x"))

    assert "global" in await jenkins.list_credentials(())


async def test_credential_descriptions_give_each_id_with_its_description(
    jenkins: JenkinsClient,
) -> None:
    await jenkins.ensure_folder("7")
    await jenkins.put_credential("7", "a", secret_text_xml("a", "x", "first one"))
    await jenkins.put_credential("7", "b", secret_text_xml("b", "y"))

    assert await jenkins.credential_descriptions("7") == {"a": "first one", "b": ""}


async def test_credential_descriptions_of_a_missing_folder_raise_not_found(
    jenkins: JenkinsClient,
) -> None:
    with pytest.raises(JenkinsNotFound):
        await jenkins.credential_descriptions("8")


async def test_update_credential_replaces_it_and_refuses_a_missing_one(
    jenkins: JenkinsClient, standin: JenkinsStandIn
) -> None:
    await jenkins.ensure_folder("7")
    await jenkins.put_credential("7", "a", secret_text_xml("a", "x", "old"))

    await jenkins.update_credential("7", "a", secret_text_xml("a", "z", "new"))

    stored = standin.folder("7").credentials.domains["_"]["a"]
    assert (stored.description, stored.fields["secret"]) == ("new", "z")
    with pytest.raises(JenkinsNotFound):
        await jenkins.update_credential("7", "ghost", secret_text_xml("ghost", "z"))
