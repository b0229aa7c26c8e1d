"""Who may approve an input step: the workspace's admins and editors."""

from __future__ import annotations

from tests.catalog.conftest import Stack, grant, make_workspace


def approvers(workspace_id: int) -> str:
    return f"/apis/amamba.io/v1alpha1/workspaces/{workspace_id}/approvalusers"


async def test_admins_and_editors_are_listed_viewers_are_not(stack: Stack) -> None:
    workspace_id = await make_workspace(stack, "team-a")
    await grant(stack, workspace_id, "ann", "workspace-admin")
    await grant(stack, workspace_id, "bob", "workspace-editor")
    await grant(stack, workspace_id, "vera", "workspace-viewer")

    answer = await stack.http.get(approvers(workspace_id), headers=stack.auth("vera"))

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "items": [{"name": "ann", "type": "user"}, {"name": "bob", "type": "user"}]
    }


async def test_outsider_cannot_list_approvers(stack: Stack) -> None:
    workspace_id = await make_workspace(stack, "team-a")
    await grant(stack, workspace_id, "bob", "workspace-editor")

    answer = await stack.http.get(approvers(workspace_id), headers=stack.auth("carol"))

    assert answer.status_code == 403


async def test_approvers_of_a_missing_workspace_is_404_for_the_admin(stack: Stack) -> None:
    answer = await stack.http.get(approvers(42), headers=stack.auth("admin"))

    assert answer.status_code == 404
