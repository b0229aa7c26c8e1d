"""Who may do what with pipelines: roles inside the workspace, nothing outside it."""

from __future__ import annotations

from tests.pipelines.conftest import CI, new_workspace


async def test_viewer_cannot_create(ci: CI) -> None:
    answer = await ci.create("build-app", user="vera")

    assert answer.status_code == 403


async def test_viewer_reads_and_lists(ci: CI) -> None:
    await ci.create("build-app")

    assert (await ci.get("build-app", user="vera")).status_code == 200
    assert (await ci.list(user="vera")).json()["items"][0]["name"] == "build-app"


async def test_editor_creates(ci: CI) -> None:
    created = await ci.create("build-app", user="eddie")

    assert created.status_code == 200


async def test_member_of_one_workspace_gets_403_on_another(ci: CI) -> None:
    other = await new_workspace(ci.stack, "team-b", {"bob": "workspace-admin"})
    await ci.http.post(
        ci.path(workspace_id=other),
        json={"name": "secret-app", "type": "PIPELINE_TYPE_CUSTOM"},
        headers=ci.auth("bob"),
    )

    read = await ci.http.get(ci.path("/secret-app", workspace_id=other), headers=ci.auth())
    listed = await ci.http.get(ci.path(workspace_id=other), headers=ci.auth())
    created = await ci.http.post(ci.path(workspace_id=other), json={"name": "x"}, headers=ci.auth())

    assert (read.status_code, listed.status_code, created.status_code) == (403, 403, 403)


async def test_same_name_in_two_workspaces_are_two_pipelines(ci: CI) -> None:
    other = await new_workspace(ci.stack, "team-b", {"alice": "workspace-admin"})
    await ci.create("build-app", description="a")
    await ci.http.post(
        ci.path(workspace_id=other),
        json={"name": "build-app", "description": "b"},
        headers=ci.auth(),
    )

    mine = await ci.get("build-app")

    assert mine.json()["description"] == "a"
    assert ci.job("build-app", workspace_id=other) is not None
