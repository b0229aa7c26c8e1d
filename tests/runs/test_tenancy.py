"""Runs belong to their workspace: a member of another workspace cannot read or start them."""

from __future__ import annotations

from tests.runs.conftest import CI, declarative, make_workspace

MEMBERS = "/apis/amamba.io/v1alpha1/management/workspaces/{}/members/{}"


async def member(ci: CI, workspace_id: int, user: str, role: str) -> None:
    answer = await ci.http.put(
        MEMBERS.format(workspace_id, user), json={"role": role}, headers=ci.stack.auth("admin")
    )
    assert answer.status_code == 200, answer.text


async def test_member_of_another_workspace_is_refused_runs_and_logs(ci: CI) -> None:
    other = await make_workspace(ci.stack, f"other-{ci.workspace_id}")
    await member(ci, other, "bob", "workspace-admin")
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    run_id = await ci.started("build")

    answers = [
        await ci.get("build", f"/runs/{run_id}", user="bob"),
        await ci.get("build", "/runs", user="bob"),
        await ci.get("build", f"/runs/{run_id}/log", user="bob"),
        await ci.run("build", user="bob"),
        await ci.post("build", f"/runs/{run_id}:cancel", user="bob"),
    ]

    assert [a.status_code for a in answers] == [403] * 5


async def test_pipeline_of_another_workspace_is_not_found_through_ones_own(ci: CI) -> None:
    other = await make_workspace(ci.stack, f"other-{ci.workspace_id}")
    await member(ci, other, "bob", "workspace-admin")
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    run_id = await ci.started("build")

    answer = await ci.http.get(
        ci.url("build", f"/runs/{run_id}", workspace_id=other), headers=ci.stack.auth("bob")
    )

    assert answer.status_code == 404


async def test_viewer_can_read_runs_but_not_start_them(ci: CI) -> None:
    await member(ci, ci.workspace_id, "vera", "workspace-viewer")
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    run_id = await ci.started("build")

    read = await ci.get("build", f"/runs/{run_id}", user="vera")
    started = await ci.run("build", user="vera")

    assert read.status_code == 200
    assert started.status_code == 403
