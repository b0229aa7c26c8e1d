"""Who may do what with pipelines: roles inside the workspace, nothing outside it."""

from __future__ import annotations

import pytest

from tests.pipelines.conftest import CI, new_workspace


@pytest.fixture
def ci(shared_ci: CI) -> CI:
    return shared_ci


async def test_viewer_cannot_create(ci: CI) -> None:
    answer = await ci.create("build-app", user="vera")

    assert answer.status_code == 403


async def test_viewer_reads_and_lists(ci: CI) -> None:
    await ci.create("viewed-app")

    listed = (await ci.list(user="vera")).json()["items"]

    assert (await ci.get("viewed-app", user="vera")).status_code == 200
    assert "viewed-app" in [item["name"] for item in listed]


async def test_editor_creates(ci: CI) -> None:
    created = await ci.create("edited-app", user="eddie")

    assert created.status_code == 200


async def test_member_of_one_workspace_gets_403_on_another(ci: CI) -> None:
    other = await new_workspace(ci.stack, "team-isolated", {"bob": "workspace-admin"})
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
    other = await new_workspace(ci.stack, "team-twin", {"alice": "workspace-admin"})
    await ci.create("twin-app", description="a")
    await ci.http.post(
        ci.path(workspace_id=other),
        json={"name": "twin-app", "description": "b"},
        headers=ci.auth(),
    )

    mine = await ci.get("twin-app")

    assert mine.json()["description"] == "a"
    assert ci.job("twin-app", workspace_id=other) is not None
