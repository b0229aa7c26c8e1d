"""Pipeline groups over REST: per workspace, unique names, and deletion that frees pipelines."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from workbench_sdk.devops.v1 import catalog_pb2 as sdk

from libs.common.errors import NotFound
from services.devops_server.store.engine import async_url
from tests.catalog.conftest import PIPELINE, Stack, grant, make_workspace


def groups(workspace_id: int) -> str:
    return f"{PIPELINE}/workspaces/{workspace_id}/groups"


@pytest.fixture
async def team(stack: Stack) -> int:
    workspace_id = await make_workspace(stack, "team-a")
    await grant(stack, workspace_id, "bob", "workspace-editor")
    await grant(stack, workspace_id, "vera", "workspace-viewer")
    return workspace_id


async def test_editor_creates_a_group_in_the_contract_shape(stack: Stack, team: int) -> None:
    answer = await stack.http.post(
        groups(team), json={"name": "backend"}, headers=stack.auth("bob")
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"id", "workspaceId", "name"}
    assert body["workspaceId"] == str(team)
    assert body["name"] == "backend"
    assert isinstance(body["id"], int) and body["id"] > 0


async def test_list_groups_sorted_by_name_and_filtered(stack: Stack, team: int) -> None:
    for name in ("web", "backend", "web-admin"):
        await stack.http.post(groups(team), json={"name": name}, headers=stack.auth("bob"))

    everything = await stack.http.get(groups(team), headers=stack.auth("vera"))
    filtered = await stack.http.get(
        groups(team), params={"fuzzyName": "WEB"}, headers=stack.auth("vera")
    )

    assert [g["name"] for g in everything.json()["items"]] == ["backend", "web", "web-admin"]
    assert [g["name"] for g in filtered.json()["items"]] == ["web", "web-admin"]


async def test_duplicate_group_name_is_409(stack: Stack, team: int) -> None:
    await stack.http.post(groups(team), json={"name": "backend"}, headers=stack.auth("bob"))

    answer = await stack.http.post(
        groups(team), json={"name": "backend"}, headers=stack.auth("bob")
    )

    assert answer.status_code == 409
    assert "backend" in answer.json()["message"]


async def test_viewer_cannot_create_a_group(stack: Stack, team: int) -> None:
    answer = await stack.http.post(groups(team), json={"name": "x"}, headers=stack.auth("vera"))

    assert answer.status_code == 403


async def test_member_of_another_workspace_cannot_list_or_delete(stack: Stack, team: int) -> None:
    other = await make_workspace(stack, "team-b")
    await grant(stack, other, "carol", "workspace-admin")
    created = await stack.http.post(groups(team), json={"name": "x"}, headers=stack.auth("bob"))
    group_id = created.json()["id"]

    listed = await stack.http.get(groups(team), headers=stack.auth("carol"))
    deleted = await stack.http.delete(f"{groups(team)}/{group_id}", headers=stack.auth("carol"))
    through_own = await stack.http.delete(
        f"{groups(other)}/{group_id}", headers=stack.auth("carol")
    )

    assert listed.status_code == 403
    assert deleted.status_code == 403
    assert through_own.status_code == 404


async def test_delete_group_removes_it(stack: Stack, team: int) -> None:
    created = await stack.http.post(groups(team), json={"name": "x"}, headers=stack.auth("bob"))

    deleted = await stack.http.delete(
        f"{groups(team)}/{created.json()['id']}", headers=stack.auth("bob")
    )
    listed = await stack.http.get(groups(team), headers=stack.auth("bob"))

    assert deleted.status_code == 200 and deleted.json() == {}
    assert listed.json()["items"] == []


async def test_delete_missing_group_is_404(stack: Stack, team: int) -> None:
    answer = await stack.http.delete(f"{groups(team)}/12345", headers=stack.auth("bob"))

    assert answer.status_code == 404


async def test_deleting_a_group_leaves_its_pipelines_ungrouped(stack: Stack, team: int) -> None:
    created = await stack.http.post(groups(team), json={"name": "x"}, headers=stack.auth("bob"))
    group_id = created.json()["id"]
    assert stack.settings.database_url
    engine = create_async_engine(async_url(stack.settings.database_url))
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO pipelines (workspace_id, name, type, spec, jenkinsfile, disabled,"
                " group_id, generation, synced_generation, sync_error, last_run_seq,"
                " last_run_state, total_runs, total_successes, weather)"
                " VALUES (:w, 'p', 'PIPELINE', '{}', '', false, :g, 1, 0, '', 0, '', 0, 0, '')"
            ),
            {"w": team, "g": group_id},
        )

    await stack.http.delete(f"{groups(team)}/{group_id}", headers=stack.auth("bob"))

    async with engine.connect() as connection:
        remaining = await connection.scalar(text("SELECT group_id FROM pipelines"))
    await engine.dispose()
    assert remaining is None


async def test_sdk_get_group_answers_only_within_its_workspace(stack: Stack, team: int) -> None:
    other = await make_workspace(stack, "team-b")
    created = await stack.http.post(groups(team), json={"name": "x"}, headers=stack.auth("bob"))
    client = stack.api.devops

    found = await client.call(
        client.catalog.GetGroup, sdk.GroupKey(workspace_id=team, id=created.json()["id"])
    )
    with pytest.raises(NotFound):
        await client.call(
            client.catalog.GetGroup, sdk.GroupKey(workspace_id=other, id=created.json()["id"])
        )

    assert found.name == "x"
