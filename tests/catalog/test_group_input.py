"""Bad group input is a 400 whose message names the field."""

from __future__ import annotations

import pytest

from tests.catalog.conftest import PIPELINE, Stack, grant, make_workspace


def groups(workspace_id: int) -> str:
    return f"{PIPELINE}/workspaces/{workspace_id}/groups"


@pytest.fixture(scope="module")
def stack(shared_stack: Stack) -> Stack:
    return shared_stack


@pytest.fixture(scope="module")
async def team(stack: Stack) -> int:
    workspace_id = await make_workspace(stack, "team-a")
    await grant(stack, workspace_id, "bob", "workspace-editor")
    return workspace_id


@pytest.mark.parametrize("name", ["", "a/b", "..", "x" * 64, "new\nline"])
async def test_bad_group_name_is_400_naming_name(stack: Stack, team: int, name: str) -> None:
    answer = await stack.http.post(groups(team), json={"name": name}, headers=stack.auth("bob"))

    assert answer.status_code == 400
    assert answer.json()["message"].startswith("name:")


async def test_control_character_in_fuzzy_name_is_400(stack: Stack, team: int) -> None:
    answer = await stack.http.get(
        groups(team), params={"fuzzyName": "a\tb"}, headers=stack.auth("bob")
    )

    assert answer.status_code == 400
    assert answer.json()["message"].startswith("fuzzyName:")
