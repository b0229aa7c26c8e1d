"""Workspace templates over REST, and the wall between workspaces."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.devops_server.store.engine import async_url
from tests.catalog.conftest import PIPELINE, SPEC, Stack, grant, make_workspace


def templates(workspace_id: int) -> str:
    return f"{PIPELINE}/workspaces/{workspace_id}/templates"


async def create(stack: Stack, workspace_id: int, name: str, user: str) -> dict[str, Any]:
    answer = await stack.http.post(
        templates(workspace_id), json={"name": name, "spec": SPEC}, headers=stack.auth(user)
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.fixture
async def two_teams(stack: Stack) -> tuple[int, int]:
    """Workspace A with bob as editor and vera as viewer; workspace B with carol as editor."""
    first = await make_workspace(stack, "team-a")
    second = await make_workspace(stack, "team-b")
    await grant(stack, first, "bob", "workspace-editor")
    await grant(stack, first, "vera", "workspace-viewer")
    await grant(stack, second, "carol", "workspace-editor")
    return first, second


async def test_editor_creates_a_workspace_template(
    stack: Stack, two_teams: tuple[int, int]
) -> None:
    first, _ = two_teams

    body = await create(stack, first, "build", "bob")

    assert body["name"] == "build"
    assert body["global"] is False
    assert body["enabled"] is True
    assert len(body["parameters"]) == 4


async def test_viewer_reads_but_cannot_create(stack: Stack, two_teams: tuple[int, int]) -> None:
    first, _ = two_teams
    await create(stack, first, "build", "bob")

    read = await stack.http.get(f"{templates(first)}/build", headers=stack.auth("vera"))
    write = await stack.http.post(
        templates(first), json={"name": "other", "spec": SPEC}, headers=stack.auth("vera")
    )

    assert read.status_code == 200
    assert write.status_code == 403


async def test_member_of_b_cannot_read_a_template_of_a(
    stack: Stack, two_teams: tuple[int, int]
) -> None:
    first, _ = two_teams
    await create(stack, first, "build", "bob")

    listed = await stack.http.get(templates(first), headers=stack.auth("carol"))
    got = await stack.http.get(f"{templates(first)}/build", headers=stack.auth("carol"))

    assert listed.status_code == 403
    assert got.status_code == 403


async def test_member_of_b_cannot_change_a_template_of_a(
    stack: Stack, two_teams: tuple[int, int]
) -> None:
    first, _ = two_teams
    await create(stack, first, "build", "bob")

    updated = await stack.http.put(
        f"{templates(first)}/build", json={"description": "x"}, headers=stack.auth("carol")
    )
    deleted = await stack.http.delete(f"{templates(first)}/build", headers=stack.auth("carol"))

    assert updated.status_code == 403
    assert deleted.status_code == 403


async def test_template_of_a_is_not_found_through_b(
    stack: Stack, two_teams: tuple[int, int]
) -> None:
    first, second = two_teams
    await create(stack, first, "build", "bob")

    answer = await stack.http.get(f"{templates(second)}/build", headers=stack.auth("carol"))

    assert answer.status_code == 404


async def test_the_same_name_may_be_used_in_two_workspaces(
    stack: Stack, two_teams: tuple[int, int]
) -> None:
    first, second = two_teams
    await create(stack, first, "build", "bob")

    body = await create(stack, second, "build", "carol")

    assert body["name"] == "build"


async def test_duplicate_name_in_a_workspace_is_409(
    stack: Stack, two_teams: tuple[int, int]
) -> None:
    first, _ = two_teams
    await create(stack, first, "build", "bob")

    answer = await stack.http.post(
        templates(first), json={"name": "build", "spec": SPEC}, headers=stack.auth("bob")
    )

    assert answer.status_code == 409


async def test_workspace_list_leaves_out_global_templates_by_default(
    stack: Stack, two_teams: tuple[int, int]
) -> None:
    first, _ = two_teams
    await create(stack, first, "build", "bob")
    await stack.http.post(
        f"{PIPELINE}/templates", json={"name": "shared", "spec": SPEC}, headers=stack.auth("admin")
    )

    answer = await stack.http.get(templates(first), headers=stack.auth("bob"))

    assert [t["name"] for t in answer.json()["items"]] == ["build"]
    assert answer.json()["pagination"]["total"] == 1


async def test_workspace_list_with_global_adds_the_enabled_global_templates(
    stack: Stack, two_teams: tuple[int, int]
) -> None:
    first, _ = two_teams
    await create(stack, first, "build", "bob")
    for name in ("shared", "retired"):
        await stack.http.post(
            f"{PIPELINE}/templates", json={"name": name, "spec": SPEC}, headers=stack.auth("admin")
        )
    await stack.http.post(
        f"{PIPELINE}/templates/retired:disable", json={}, headers=stack.auth("admin")
    )

    answer = await stack.http.get(
        templates(first),
        params={
            "global": "true",
            "sortBy": "FIELD_NAME",
            "sortDir": "ASC",
            "type": "TEMPLATE_TYPE_CUSTOM",
        },
        headers=stack.auth("bob"),
    )

    items = answer.json()["items"]
    assert [(t["name"], t["global"]) for t in items] == [("build", False), ("shared", True)]


async def test_update_keeps_the_spec_when_none_is_given(
    stack: Stack, two_teams: tuple[int, int]
) -> None:
    first, _ = two_teams
    created = await create(stack, first, "build", "bob")

    answer = await stack.http.put(
        f"{templates(first)}/build", json={"description": "new words"}, headers=stack.auth("bob")
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["description"] == "new words"
    assert answer.json()["jenkinsfile"] == created["jenkinsfile"]


async def test_delete_then_get_is_404(stack: Stack, two_teams: tuple[int, int]) -> None:
    first, _ = two_teams
    await create(stack, first, "build", "bob")

    deleted = await stack.http.delete(f"{templates(first)}/build", headers=stack.auth("bob"))
    after = await stack.http.get(f"{templates(first)}/build", headers=stack.auth("bob"))

    assert deleted.status_code == 200
    assert after.status_code == 404


async def test_non_numeric_workspace_id_is_400(stack: Stack) -> None:
    answer = await stack.http.get(
        f"{PIPELINE}/workspaces/abc/templates", headers=stack.auth("admin")
    )

    assert answer.status_code == 400
    assert "workspaceId" in answer.json()["message"]


async def test_template_in_a_missing_workspace_is_404(stack: Stack) -> None:
    answer = await stack.http.post(
        templates(99), json={"name": "build", "spec": SPEC}, headers=stack.auth("admin")
    )

    assert answer.status_code == 404


async def test_deleting_a_workspace_deletes_its_templates(
    stack: Stack, two_teams: tuple[int, int]
) -> None:
    first, _ = two_teams
    await create(stack, first, "build", "bob")

    deleted = await stack.http.delete(
        f"/apis/amamba.io/v1alpha1/management/workspaces/{first}", headers=stack.auth("admin")
    )

    assert deleted.status_code == 200
    assert stack.settings.database_url
    engine = create_async_engine(async_url(stack.settings.database_url))
    async with engine.connect() as connection:
        left = await connection.scalar(
            text("SELECT count(*) FROM templates WHERE workspace_id = :w"), {"w": first}
        )
    await engine.dispose()
    assert left == 0
