"""devops-server's `ListRepositories` (the Git repositories of a workspace's SCM pipelines)
and the `repository` changes it records, over real gRPC and a real database."""

from __future__ import annotations

import asyncio

import pytest
from amamba.pipeline.v1alpha1 import pipelines_pb2 as api
from workbench_sdk.devops.v1 import pipelines_pb2 as sdk
from workbench_sdk.devops.v1 import tenancy_pb2 as pb

from libs.common.errors import InvalidArgument
from libs.devops_client import DevopsClient

SCRIPT = "pipeline { agent any\n stages { stage('b') { steps { echo 'b' } } } }"


async def workspace(client: DevopsClient, alias: str) -> int:
    created = await client.call(
        client.tenancy.CreateWorkspace, pb.CreateWorkspaceRequest(alias=alias)
    )
    workspace_id: int = created.id
    return workspace_id


def scm(url: str) -> api.PipelineScm:
    return api.PipelineScm(branch="main", git_repository=api.GitRepository(url=url))


async def from_git(client: DevopsClient, workspace_id: int, name: str, url: str) -> None:
    request = api.CreatePipelineRequest(
        workspace_id=str(workspace_id), name=name, type=api.PIPELINE_TYPE_SCM, pipeline_scm=scm(url)
    )
    await client.call(client.pipelines.CreatePipeline, sdk.NewPipeline(pipeline=request))


async def repositories(client: DevopsClient, workspace_id: int = 0) -> list[tuple[int, str]]:
    request = sdk.RepositoriesRequest(workspace_id=workspace_id)
    answer = await client.call(client.pipelines.ListRepositories, request)
    return [(item.workspace_id, item.url) for item in answer.items]


async def test_repositories_of_scm_pipelines_once_per_workspace(client: DevopsClient) -> None:
    first, second = await workspace(client, "one"), await workspace(client, "two")
    await from_git(client, first, "build", "https://git.example.com/one/app.git")
    await from_git(client, first, "release", "https://git.example.com/one/app.git")
    await from_git(client, first, "docs", "git@git.example.com:one/docs.git")
    await from_git(client, second, "build", "https://git.example.com/two/app.git")
    inline = api.CreatePipelineRequest(
        workspace_id=str(second), name="inline", type=api.PIPELINE_TYPE_CUSTOM
    )
    new = sdk.NewPipeline(pipeline=inline, jenkinsfile=SCRIPT)
    await client.call(client.pipelines.CreatePipeline, new)

    assert await repositories(client) == [
        (first, "git@git.example.com:one/docs.git"),
        (first, "https://git.example.com/one/app.git"),
        (second, "https://git.example.com/two/app.git"),
    ]
    assert await repositories(client, second) == [(second, "https://git.example.com/two/app.git")]


async def test_negative_workspace_id_is_refused(client: DevopsClient) -> None:
    with pytest.raises(InvalidArgument, match="workspaceId"):
        await repositories(client, -1)


async def test_a_pipeline_naming_another_repository_is_a_change(client: DevopsClient) -> None:
    workspace_id = await workspace(client, "team")
    await from_git(client, workspace_id, "build", "https://git.example.com/a.git")
    update = api.UpdatePipelineRequest(
        workspace_id=str(workspace_id),
        name="build",
        pipeline_scm=scm("https://git.example.com/b.git"),
    )
    await client.call(client.pipelines.UpdatePipeline, update)
    update.description = "the same repository"
    await client.call(client.pipelines.UpdatePipeline, update)
    key = sdk.PipelineKey(workspace_id=workspace_id, name="build")
    await client.call(client.pipelines.DeletePipeline, key)

    seen = []
    stream = client.stream(client.tenancy.WatchChanges, pb.WatchChangesRequest(after_revision=0))
    while len(seen) < 4:
        change = await asyncio.wait_for(anext(stream), 10)
        seen.append((change.kind, change.key, change.action))
    await stream.aclose()

    assert seen == [
        ("workspace", str(workspace_id), "created"),
        ("repository", f"{workspace_id}/build", "created"),
        ("repository", f"{workspace_id}/build", "updated"),
        ("repository", f"{workspace_id}/build", "deleted"),
    ]
    assert await repositories(client, workspace_id) == []
