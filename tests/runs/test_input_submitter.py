"""An input step's `submitter` list: who may approve it, checked by Workbench, since Workbench
answers Jenkins as its own user."""

from __future__ import annotations

from typing import Any

from tests.runs.conftest import CI, declarative
from tests.runs.test_life_cycle import input_step

MEMBERS = "/apis/amamba.io/v1alpha1/management/workspaces/{}/members/{}"
GATED = declarative(("Gate", "input message: 'Ship it?', submitter: 'alice, release-managers'"))


async def editors(ci: CI, *users: str) -> None:
    for user in users:
        granted = await ci.http.put(
            MEMBERS.format(ci.workspace_id, user),
            json={"role": "workspace-editor"},
            headers=ci.stack.auth("admin"),
        )
        assert granted.status_code == 200, granted.text


async def paused(ci: CI, script: str = GATED) -> tuple[str, str]:
    """A run of `gate` waiting at its input: (run id, the action's path without the verb)."""
    await ci.pipeline("gate", script)
    run_id = await ci.started("gate")
    await ci.wait("gate", run_id, ("PAUSED",))
    node, step = await input_step(ci, "gate", run_id)
    return run_id, f"/runs/{run_id}/nodes/{node}/steps/{step}"


async def answer(ci: CI, action: str, user: str, groups: tuple[str, ...] = ()) -> Any:
    return await ci.http.post(ci.url("gate", action), json={}, headers=ci.stack.auth(user, groups))


async def test_an_editor_the_submitter_list_leaves_out_cannot_approve(ci: CI) -> None:
    await editors(ci, "eddie")
    run_id, step = await paused(ci)

    refused = await answer(ci, f"{step}:process", "eddie")
    run = (await ci.get("gate", f"/runs/{run_id}")).json()

    assert refused.status_code == 403, refused.text
    assert "alice, release-managers" in refused.json()["message"]
    assert run["state"] == "PAUSED"


async def test_a_user_the_list_names_approves(ci: CI) -> None:
    await editors(ci, "Alice")
    run_id, step = await paused(ci)

    approved = await answer(ci, f"{step}:process", "Alice")

    assert approved.status_code == 200, approved.text
    assert (await ci.wait("gate", run_id))["state"] == "SUCCESS"


async def test_a_member_of_a_group_the_list_names_approves(ci: CI) -> None:
    await editors(ci, "carol")
    run_id, step = await paused(ci)

    approved = await answer(ci, f"{step}:process", "carol", ("qa", "release-managers"))

    assert approved.status_code == 200, approved.text
    assert (await ci.wait("gate", run_id))["state"] == "SUCCESS"


async def test_a_platform_administrator_approves_whatever_the_list(ci: CI) -> None:
    run_id, step = await paused(ci)

    approved = await answer(ci, f"{step}:process", "admin")

    assert approved.status_code == 200, approved.text
    assert (await ci.wait("gate", run_id))["state"] == "SUCCESS"


async def test_an_editor_left_out_may_still_abort_as_it_may_cancel(ci: CI) -> None:
    await editors(ci, "eddie")
    run_id, step = await paused(ci)

    aborted = await answer(ci, f"{step}:abort", "eddie")

    assert aborted.status_code == 200, aborted.text
    assert (await ci.wait("gate", run_id))["state"] == "CANCELED"


async def test_without_a_list_any_editor_approves(ci: CI) -> None:
    await editors(ci, "eddie")
    run_id, step = await paused(ci, declarative(("Gate", "input message: 'Ship it?'")))

    approved = await answer(ci, f"{step}:process", "eddie")

    assert approved.status_code == 200, approved.text
    assert (await ci.wait("gate", run_id))["state"] == "SUCCESS"
