"""Jenkins instances, a workspace's instance and its run cap, against the Jenkins stand-in.

A workspace that chose no instance follows the default (else the only one); these tests also
check that it moves with it as if it had been moved by hand, without a syncer: the instance it
left is listed to clean and the change log has a change of the workspace.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select
from workbench_sdk.devops.v1 import jenkins_pb2 as sdk

from services.devops_server.store.tables import Change
from tests.apiserver.conftest import Stack

JENKINS = "/apis/pipeline.amamba.io/v1alpha1/management/jenkins"
MGMT = "/apis/pipeline.amamba.io/v1alpha1/management/workspaces"


def config(jenkins: Any, token: str | None = None) -> dict[str, Any]:
    return {
        "address": jenkins.url,
        "username": jenkins.admin_user,
        "password": token or jenkins.api_token,
    }


async def register(stack: Stack, jenkins: Any, name: str = "jenkins-a", **extra: Any) -> Any:
    return await stack.http.post(
        JENKINS,
        json={"name": name, "config": config(jenkins), **extra},
        headers=stack.auth("admin"),
    )


async def workspace(stack: Stack, alias: str = "team-a") -> int:
    made = await stack.http.post(
        "/apis/amamba.io/v1alpha1/management/workspaces",
        json={"alias": alias},
        headers=stack.auth("admin"),
    )
    workspace_id: int = made.json()["workspaceId"]
    return workspace_id


async def ci(stack: Stack, workspace_id: int) -> sdk.WorkspaceCI:
    answer: sdk.WorkspaceCI = await stack.api.devops.call(
        stack.api.devops.jenkins.GetWorkspaceCI, sdk.WorkspaceCIRef(workspace_id=workspace_id)
    )
    return answer


async def choose(stack: Stack, workspace_id: int, name: str) -> None:
    chosen = await stack.http.put(
        f"{MGMT}/{workspace_id}/jenkins", json={"name": name}, headers=stack.auth("admin")
    )
    assert chosen.status_code == 200, chosen.text


async def placed(stack: Stack, workspace_id: int) -> tuple[str, list[str]]:
    """The instance the workspace uses and those it left whose folder is still to clean."""
    settings = await ci(stack, workspace_id)
    return settings.jenkins, [item.name for item in settings.previous]


async def workspace_changes(stack: Stack, workspace_id: int) -> int:
    """How many changes of the workspace the tenancy change log holds (its creation is one)."""
    async with stack.devops.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Change)
            .where(Change.kind == "workspace", Change.key == str(workspace_id))
        )
    return int(count or 0)


async def test_registered_instance_is_listed_without_its_token(
    stack: Stack, jenkins: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    registered = await register(stack, jenkins)
    listed = await stack.http.get(JENKINS, headers=stack.auth("admin"))
    made = await workspace(stack)
    used = await stack.http.get(  # the instance's client calls Jenkins with the token
        "/apis/pipeline.amamba.io/v1alpha1/management/node_labels",
        params={"workspaceId": str(made)},
        headers=stack.auth("admin"),
    )

    assert registered.status_code == 200, registered.text
    assert registered.json() == {"name": "jenkins-a"}
    assert listed.json()["items"][0]["address"] == jenkins.url.rstrip("/")
    assert used.status_code == 200, used.text
    assert jenkins.api_token not in listed.text
    assert "JenkinsInstances/RegisterJenkins OK" in caplog.text  # the log was captured
    assert jenkins.api_token not in caplog.text


async def test_token_is_encrypted_at_rest(stack: Stack, jenkins: Any) -> None:
    await register(stack, jenkins)
    assert stack.settings.database_url

    connection = await asyncpg.connect(stack.settings.database_url)
    stored = await connection.fetchval("SELECT token FROM jenkins_instances")
    await connection.close()

    assert jenkins.api_token.encode() not in stored


async def test_wrong_token_is_refused_with_a_clear_message(
    stack: Stack, jenkins: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-token-3f9c1e"
    answer = await stack.http.post(
        JENKINS,
        json={"name": "jenkins-a", "config": config(jenkins, token=wrong)},
        headers=stack.auth("admin"),
    )
    listed = await stack.http.get(JENKINS, headers=stack.auth("admin"))

    assert answer.status_code == 400
    assert "refused" in answer.json()["message"]
    assert wrong not in answer.text
    assert wrong not in caplog.text
    assert listed.json()["items"] == []


async def test_unreachable_jenkins_is_refused(stack: Stack, jenkins: Any) -> None:
    await jenkins.down()

    answer = await register(stack, jenkins)

    assert answer.status_code == 400
    assert "does not answer" in answer.json()["message"]


async def test_event_proxy_url_and_casc_are_kept_and_listed(stack: Stack, jenkins: Any) -> None:
    extra = {"eventProxyUrl": "http://127.0.0.1:9095/event", "casc": "jenkins:\n  clouds: []\n"}
    answer = await stack.http.post(
        JENKINS,
        json={"name": "jenkins-a", "config": config(jenkins), **extra},
        headers=stack.auth("admin"),
    )
    listed = await stack.http.get(JENKINS, headers=stack.auth("admin"))

    assert answer.status_code == 200, answer.text
    item = listed.json()["items"][0]
    assert (item["eventProxyUrl"], item["casc"]) == (extra["eventProxyUrl"], extra["casc"])


async def test_bad_event_proxy_url_or_casc_is_refused_naming_the_field(
    stack: Stack, jenkins: Any
) -> None:
    cases = [
        ({"eventProxyUrl": "ftp://proxy/event"}, "eventProxyUrl"),
        ({"eventProxyUrl": "http://proxy/\nevent"}, "eventProxyUrl"),
        ({"casc": "jenkins: [unclosed"}, "casc: not valid YAML"),
        ({"casc": "- a list\n"}, "casc: must be a YAML mapping"),
        ({"casc": "credentials:\n  system: {}\n"}, "casc: credentials"),
        ({"casc": "x: " + "y" * 70000}, "casc: at most"),
    ]
    for extra, message in cases:
        answer = await stack.http.post(
            JENKINS,
            json={"name": "jenkins-a", "config": config(jenkins), **extra},
            headers=stack.auth("admin"),
        )
        assert answer.status_code == 400, extra
        assert answer.json()["message"].startswith(message), answer.json()

    listed = await stack.http.get(JENKINS, headers=stack.auth("admin"))
    assert listed.json()["items"] == []


async def test_only_platform_admins_manage_instances(stack: Stack, jenkins: Any) -> None:
    answer = await stack.http.post(
        JENKINS, json={"name": "x", "config": config(jenkins)}, headers=stack.auth("bob")
    )

    assert answer.status_code == 403


async def test_the_only_instance_serves_a_new_workspace(stack: Stack, jenkins: Any) -> None:
    workspace_id = await workspace(stack)
    await register(stack, jenkins)

    assert (await ci(stack, workspace_id)).jenkins == "jenkins-a"


async def test_the_default_instance_serves_a_new_workspace(stack: Stack, jenkins: Any) -> None:
    workspace_id = await workspace(stack)
    await register(stack, jenkins, name="jenkins-a")
    await register(stack, jenkins, name="jenkins-b", default=True)

    assert (await ci(stack, workspace_id)).jenkins == "jenkins-b"


async def test_a_workspace_can_choose_its_instance(stack: Stack, jenkins: Any) -> None:
    workspace_id = await workspace(stack)
    await register(stack, jenkins, name="jenkins-a", default=True)
    await register(stack, jenkins, name="jenkins-b")

    chosen = await stack.http.put(
        f"{MGMT}/{workspace_id}/jenkins", json={"name": "jenkins-b"}, headers=stack.auth("admin")
    )

    assert chosen.status_code == 200
    assert (await ci(stack, workspace_id)).jenkins == "jenkins-b"


async def test_choosing_an_unknown_instance_is_404(stack: Stack, jenkins: Any) -> None:
    workspace_id = await workspace(stack)

    answer = await stack.http.put(
        f"{MGMT}/{workspace_id}/jenkins", json={"name": "nowhere"}, headers=stack.auth("admin")
    )

    assert answer.status_code == 404


async def test_an_instance_in_use_cannot_be_removed(stack: Stack, jenkins: Any) -> None:
    workspace_id = await workspace(stack)
    await register(stack, jenkins)
    await stack.http.put(
        f"{MGMT}/{workspace_id}/jenkins", json={"name": "jenkins-a"}, headers=stack.auth("admin")
    )

    refused = await stack.http.delete(f"{JENKINS}/jenkins-a", headers=stack.auth("admin"))

    assert refused.status_code == 400
    assert str(workspace_id) in refused.json()["message"]


async def test_quota_is_kept_and_negative_is_refused(stack: Stack, jenkins: Any) -> None:
    workspace_id = await workspace(stack)

    kept = await stack.http.put(
        f"{MGMT}/{workspace_id}/quota", json={"maxConcurrentRuns": 5}, headers=stack.auth("admin")
    )
    refused = await stack.http.put(
        f"{MGMT}/{workspace_id}/quota", json={"maxConcurrentRuns": -1}, headers=stack.auth("admin")
    )

    assert kept.status_code == 200
    assert refused.status_code == 400
    assert "maxConcurrentRuns" in refused.json()["message"]
    assert (await ci(stack, workspace_id)).max_concurrent_runs == 5


async def test_a_new_default_moves_a_workspace_that_chose_none_like_a_move_by_hand(
    stack: Stack, jenkins: Any
) -> None:
    await register(stack, jenkins, name="jenkins-a", default=True)
    workspace_id = await workspace(stack)
    assert await workspace_changes(stack, workspace_id) == 1  # its creation

    answer = await register(stack, jenkins, name="jenkins-b", default=True)

    assert answer.status_code == 200, answer.text
    assert await placed(stack, workspace_id) == ("jenkins-b", ["jenkins-a"])
    assert await workspace_changes(stack, workspace_id) == 2


async def test_a_workspace_that_chose_its_instance_stays_when_the_default_moves(
    stack: Stack, jenkins: Any
) -> None:
    workspace_id = await workspace(stack)
    await register(stack, jenkins, name="jenkins-a", default=True)
    await choose(stack, workspace_id, "jenkins-a")
    changes = await workspace_changes(stack, workspace_id)

    await register(stack, jenkins, name="jenkins-b", default=True)

    assert await placed(stack, workspace_id) == ("jenkins-a", [])
    assert await workspace_changes(stack, workspace_id) == changes


async def test_registering_the_default_again_as_it_was_moves_nothing(
    stack: Stack, jenkins: Any
) -> None:
    await register(stack, jenkins, name="jenkins-a", default=True)
    await register(stack, jenkins, name="jenkins-b")
    workspace_id = await workspace(stack)

    await register(stack, jenkins, name="jenkins-a", default=True)
    await register(stack, jenkins, name="jenkins-b")

    assert await placed(stack, workspace_id) == ("jenkins-a", [])
    assert await workspace_changes(stack, workspace_id) == 1


async def test_a_second_instance_beside_the_only_one_leaves_a_workspace_without_one(
    stack: Stack, jenkins: Any
) -> None:
    """With two instances and no default, a workspace that chose none has no instance; its
    folder on the one it had stays listed until a default gives it a new one."""
    await register(stack, jenkins, name="jenkins-a")
    workspace_id = await workspace(stack)

    await register(stack, jenkins, name="jenkins-b")
    assert await placed(stack, workspace_id) == ("", ["jenkins-a"])
    await register(stack, jenkins, name="jenkins-b", default=True)
    assert await placed(stack, workspace_id) == ("jenkins-b", ["jenkins-a"])
    assert await workspace_changes(stack, workspace_id) == 3


async def test_a_workspace_moved_again_with_the_default_keeps_every_instance_to_clean(
    stack: Stack, jenkins: Any
) -> None:
    """As when it is moved by hand again before the syncer has cleaned up after a move."""
    await register(stack, jenkins, name="jenkins-a", default=True)
    workspace_id = await workspace(stack)

    await register(stack, jenkins, name="jenkins-b", default=True)
    await register(stack, jenkins, name="jenkins-c", default=True)
    assert await placed(stack, workspace_id) == ("jenkins-c", ["jenkins-a", "jenkins-b"])
    await register(stack, jenkins, name="jenkins-a", default=True)  # back where its folder is
    assert await placed(stack, workspace_id) == ("jenkins-a", ["jenkins-b", "jenkins-c"])


async def test_removing_the_default_moves_the_workspaces_that_follow_it(
    stack: Stack, jenkins: Any
) -> None:
    await register(stack, jenkins, name="jenkins-a", default=True)
    await register(stack, jenkins, name="jenkins-b")
    following = await workspace(stack, "following")
    chose_b = await workspace(stack, "chose-b")
    await choose(stack, chose_b, "jenkins-b")  # it followed A: A is to clean
    changes = await workspace_changes(stack, chose_b)

    removed = await stack.http.delete(f"{JENKINS}/jenkins-a", headers=stack.auth("admin"))

    assert removed.status_code == 200, removed.text
    assert await placed(stack, following) == ("jenkins-b", ["jenkins-a"])
    assert await workspace_changes(stack, following) == 2
    assert await placed(stack, chose_b) == ("jenkins-b", ["jenkins-a"])
    assert await workspace_changes(stack, chose_b) == changes


async def test_removing_an_unknown_instance_is_404(stack: Stack, jenkins: Any) -> None:
    answer = await stack.http.delete(f"{JENKINS}/nowhere", headers=stack.auth("admin"))

    assert answer.status_code == 404
    assert "nowhere" in answer.json()["message"]
