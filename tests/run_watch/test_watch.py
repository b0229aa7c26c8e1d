"""Following runs without polling, over REST (newline-delimited JSON) and over gRPC.

A run is held in Workbench's queue by taking the Jenkins stand-in down after its pipeline is
made, so the watch is open while the run is QUEUE; bringing Jenkins back lets it start.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
from amamba.pipeline.v1alpha1 import run_watch_pb2 as api
from amamba.pipeline.v1alpha1 import run_watch_pb2_grpc

from tests.runs.conftest import CI, declarative, make_workspace

WATCH_ONE = "/runs/{}:watch"
WATCH_ALL = "/apis/pipeline.amamba.io/v1alpha1/workspaces/{}/runs:watch"
FINAL = ("SUCCESS", "FAILED", "CANCELED", "ERROR", "NOT_BUILT", "UNKNOWN", "UNSTABLE")
MEMBERS = "/apis/amamba.io/v1alpha1/management/workspaces/{}/members/{}"


async def lines(answer: Any) -> AsyncIterator[dict[str, Any]]:
    async for line in answer.aiter_lines():
        if line.strip():
            yield json.loads(line)


async def queued_run(ci: CI, pipeline: str, script: str) -> str:
    """A run of a new pipeline that stays QUEUE until `ci.jenkins.up()`."""
    await ci.pipeline(pipeline, script)
    await ci.jenkins.down()
    return await ci.started(pipeline)


def states_in_order(seen: list[str]) -> bool:
    order = ["QUEUE", "RUNNING", "SUCCESS"]
    positions = [order.index(s) for s in seen]
    return positions == sorted(positions)


async def test_following_one_run_over_rest_sees_states_in_order_and_the_whole_log(
    ci: CI,
) -> None:
    run_id = await queued_run(ci, "build", declarative(("Build", "echo 'hi'\nsh 'sleep 100'")))
    seen: list[str] = []
    log = ""
    url = ci.url("build", WATCH_ONE.format(run_id))
    params = {"includeLog": "true"}
    async with ci.http.stream("GET", url, params=params, headers=ci.stack.auth("admin")) as answer:
        assert answer.status_code == 200
        async for chunk in lines(answer):
            change = chunk["result"]
            state = change["run"]["state"]
            if not seen:
                assert state == "QUEUE"
                await ci.jenkins.up()
            if not seen or seen[-1] != state:
                seen.append(state)
            log += change.get("logChunk", "")
            assert int(change.get("logSize", "0")) == len(log.encode())
    # The stream ended by itself: the run is final and its log fully sent.
    assert seen[0] == "QUEUE" and seen[-1] == "SUCCESS" and "RUNNING" in seen, seen
    assert states_in_order(seen), seen
    assert "hi" in log and log.rstrip().endswith("Finished: SUCCESS"), log


async def test_following_one_run_over_grpc_ends_by_itself_when_it_succeeds(ci: CI) -> None:
    run_id = await queued_run(ci, "build", declarative(("Build", "sh 'sleep 100'")))
    request = api.WatchPipelineRunRequest(
        workspace_id=str(ci.workspace_id), name="build", run_id=int(run_id), include_log=True
    )
    seen: list[str] = []
    log = ""
    metadata = (("authorization", ci.stack.auth("admin")["Authorization"]),)
    async with grpc.aio.insecure_channel(ci.stack.grpc_target) as channel:
        stub = run_watch_pb2_grpc.RunWatchStub(channel)
        async with asyncio.timeout(20):
            async for change in stub.WatchPipelineRun(request, metadata=metadata):
                state = api.PipelineRunChange.DESCRIPTOR.fields_by_name["run"]
                name = (
                    state.message_type.fields_by_name["state"]
                    .enum_type.values_by_number[change.run.state]
                    .name
                )
                if not seen:
                    await ci.jenkins.up()
                if not seen or seen[-1] != name:
                    seen.append(name)
                log += change.log_chunk
                assert change.log_size == len(log.encode())
    assert seen[0] == "QUEUE" and seen[-1] == "SUCCESS", seen
    assert states_in_order(seen), seen
    assert "Finished: SUCCESS" in log


async def test_following_a_workspace_sees_a_new_run_appear_and_finish(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "sh 'sleep 50'")))
    seen: list[str] = []
    url = WATCH_ALL.format(ci.workspace_id)

    async def follow() -> None:
        async with ci.http.stream("GET", url, headers=ci.stack.auth("admin")) as answer:
            assert answer.status_code == 200
            async for chunk in lines(answer):
                run = chunk["result"]["run"]
                assert run["name"] == "build" and run["workspaceId"] == str(ci.workspace_id)
                seen.append(run["state"])
                if run["state"] in FINAL:
                    return

    watching = asyncio.create_task(follow())
    await asyncio.sleep(0.3)  # the watch is open before the run exists
    assert not seen
    run_id = await ci.started("build")
    await asyncio.wait_for(watching, 20)
    assert run_id == "1"
    assert seen[0] in ("QUEUE", "RUNNING") and seen[-1] == "SUCCESS", seen


async def test_a_stranger_is_refused_with_403(ci: CI) -> None:
    other = await make_workspace(ci.stack, f"other-{ci.workspace_id}")
    answer = await ci.http.put(
        MEMBERS.format(other, "mallory"),
        json={"role": "workspace-admin"},
        headers=ci.stack.auth("admin"),
    )
    assert answer.status_code == 200, answer.text
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    run_id = await ci.started("build")
    for url in (ci.url("build", WATCH_ONE.format(run_id)), WATCH_ALL.format(ci.workspace_id)):
        async with ci.http.stream("GET", url, headers=ci.stack.auth("mallory")) as refused:
            await refused.aread()
            assert refused.status_code == 403, refused.text


async def test_a_missing_run_is_404(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    url = ci.url("build", WATCH_ONE.format(7))
    async with ci.http.stream("GET", url, headers=ci.stack.auth("admin")) as answer:
        await answer.aread()
        assert answer.status_code == 404, answer.text
        assert "run 7 of pipeline" in answer.text, answer.text


async def test_a_client_that_goes_away_frees_its_watcher(ci: CI) -> None:
    feed = ci.stack.devops.run_feed
    before = feed.watchers
    await ci.pipeline("build", declarative(("Build", "sh 'sleep 600'")))
    await ci.started("build")
    request = api.WatchWorkspaceRunsRequest(workspace_id=str(ci.workspace_id))
    metadata = (("authorization", ci.stack.auth("admin")["Authorization"]),)
    async with grpc.aio.insecure_channel(ci.stack.grpc_target) as channel:
        call = run_watch_pb2_grpc.RunWatchStub(channel).WatchWorkspaceRuns(
            request, metadata=metadata
        )
        first = await call.read()
        assert first.run.run_id == 1
        assert feed.watchers == before + 1
        call.cancel()
        for _ in range(250):  # up to 5 s
            if feed.watchers == before:
                break
            await asyncio.sleep(0.02)
        assert feed.watchers == before
    await ci.post("build", "/runs/1:cancel")


async def test_a_rest_client_that_goes_away_frees_its_watcher(ci: CI) -> None:
    feed = ci.stack.devops.run_feed
    before = feed.watchers
    await ci.pipeline("build", declarative(("Build", "sh 'sleep 600'")))
    await ci.started("build")
    url = WATCH_ALL.format(ci.workspace_id)
    async with ci.http.stream("GET", url, headers=ci.stack.auth("admin")) as answer:
        first = await anext(lines(answer))
        assert first["result"]["run"]["runId"] == "1"
        assert feed.watchers == before + 1
    for _ in range(250):  # up to 5 s
        if feed.watchers == before:
            break
        await asyncio.sleep(0.02)
    assert feed.watchers == before
    await ci.post("build", "/runs/1:cancel")


async def test_a_run_id_that_is_not_positive_is_400(ci: CI) -> None:
    await ci.pipeline("build", declarative(("Build", "echo 'hi'")))
    url = ci.url("build", WATCH_ONE.format(0))
    async with ci.http.stream("GET", url, headers=ci.stack.auth("admin")) as answer:
        await answer.aread()
        assert answer.status_code == 400, answer.text
        assert "runId" in answer.text
