"""The syncer converges Argo CD AppProjects and KubeVela namespaces to devops-server's tenancy,
and follows every change through the change stream."""

from __future__ import annotations

import asyncio
import logging

import pytest
from amamba.pipeline.v1alpha1 import pipelines_pb2 as api
from workbench_sdk.devops.v1 import pipelines_pb2 as pipelines_sdk
from workbench_sdk.devops.v1 import tenancy_pb2 as pb

from libs.devops_client import DevopsClient
from sandbox.kube import KubeStandIn
from services.syncer.app import Syncer
from tests.conftest import eventually
from tests.syncer.conftest import (
    SyncerFactory,
    appproject,
    bind,
    destinations,
    labelled,
    new_workspace,
    oam_namespace,
    reconciles,
    unbind,
)


async def test_converges_from_empty_to_an_appproject_and_namespace_per_workspace(
    sdk: DevopsClient, control_plane: KubeStandIn, member: KubeStandIn, make_syncer: SyncerFactory
) -> None:
    workspace = await new_workspace(sdk, "team-a")
    await bind(sdk, workspace, "team-a-dev")
    await bind(sdk, workspace, "team-a-prod")

    await make_syncer()

    assert destinations(control_plane, workspace) == {
        (member.url, "team-a-dev"),
        (member.url, "team-a-prod"),
    }
    assert labelled(oam_namespace(control_plane, workspace), workspace)


async def test_appproject_denies_cluster_resources_and_maps_roles_to_groups(
    sdk: DevopsClient, control_plane: KubeStandIn, syncer: Syncer
) -> None:
    workspace = await new_workspace(sdk)
    await eventually(lambda: appproject(control_plane, workspace))

    project = appproject(control_plane, workspace)
    assert project is not None
    spec = project["spec"]
    name = f"workspace-{workspace}"
    assert project["metadata"]["labels"]["workbench.io/workspace"] == str(workspace)
    assert spec["clusterResourceWhitelist"] == []
    assert spec["sourceRepos"] == []  # no SCM pipeline: no source allowed
    assert spec["destinations"] == []
    roles = {role["name"]: role for role in spec["roles"]}
    assert set(roles) == {"admin", "editor", "viewer"}
    assert roles["viewer"]["groups"] == [f"{name}-viewer"]
    assert (
        f"p, proj:{name}:viewer, applications, get, {name}/*, allow"
        in (roles["viewer"]["policies"])
    )
    assert all(
        policy.startswith(f"p, proj:{name}:admin, ") for policy in roles["admin"]["policies"]
    )


def scm(url: str) -> api.PipelineScm:
    return api.PipelineScm(branch="main", git_repository=api.GitRepository(url=url))


def source_repos(standin: KubeStandIn, workspace_id: int) -> list[str] | None:
    project = appproject(standin, workspace_id)
    return None if project is None else list(project["spec"]["sourceRepos"])


async def test_source_repos_follow_the_repositories_of_the_workspace_scm_pipelines(
    sdk: DevopsClient, control_plane: KubeStandIn, syncer: Syncer
) -> None:
    workspace, other = await new_workspace(sdk, "team"), await new_workspace(sdk, "other")
    app, lib = "https://git.example.com/team/app.git", "git@git.example.com:team/lib.git"
    for name, url in (("build", app), ("lib", lib), ("release", app)):
        request = api.CreatePipelineRequest(
            workspace_id=str(workspace),
            name=name,
            type=api.PIPELINE_TYPE_SCM,
            pipeline_scm=scm(url),
        )
        await sdk.call(sdk.pipelines.CreatePipeline, pipelines_sdk.NewPipeline(pipeline=request))
    await eventually(lambda: source_repos(control_plane, workspace) == [lib, app])

    moved = "https://git.example.com/team/app-v2.git"
    update = api.UpdatePipelineRequest(
        workspace_id=str(workspace), name="lib", pipeline_scm=scm(moved)
    )
    await sdk.call(sdk.pipelines.UpdatePipeline, update)
    await eventually(lambda: source_repos(control_plane, workspace) == [moved, app])

    for name in ("build", "release"):
        key = pipelines_sdk.PipelineKey(workspace_id=workspace, name=name)
        await sdk.call(sdk.pipelines.DeletePipeline, key)
    await eventually(lambda: source_repos(control_plane, workspace) == [moved])
    assert source_repos(control_plane, other) == []


async def test_repository_read_as_a_pattern_is_left_out_of_source_repos(
    sdk: DevopsClient, control_plane: KubeStandIn, syncer: Syncer
) -> None:
    workspace = await new_workspace(sdk)
    exact, pattern = "https://git.example.com/a.git", "https://git.example.com/*"
    for name, url in (("exact", exact), ("pattern", pattern)):
        request = api.CreatePipelineRequest(
            workspace_id=str(workspace),
            name=name,
            type=api.PIPELINE_TYPE_SCM,
            pipeline_scm=scm(url),
        )
        await sdk.call(sdk.pipelines.CreatePipeline, pipelines_sdk.NewPipeline(pipeline=request))

    await eventually(lambda: source_repos(control_plane, workspace) == [exact])
    await asyncio.sleep(0.3)  # the second pipeline's change has been applied too
    assert source_repos(control_plane, workspace) == [exact]


async def test_roles_are_granted_to_the_groups_the_pattern_names(
    sdk: DevopsClient, control_plane: KubeStandIn, make_syncer: SyncerFactory
) -> None:
    workspace = await new_workspace(sdk)

    await make_syncer(settings={"argocd_group_pattern": "sso:ws{workspace}:{role}s"})

    project = appproject(control_plane, workspace)
    assert project is not None
    groups = {role["name"]: role["groups"] for role in project["spec"]["roles"]}
    assert groups == {
        "admin": [f"sso:ws{workspace}:admins"],
        "editor": [f"sso:ws{workspace}:editors"],
        "viewer": [f"sso:ws{workspace}:viewers"],
    }


async def test_new_workspace_gets_its_appproject_and_namespace(
    sdk: DevopsClient, control_plane: KubeStandIn, syncer: Syncer
) -> None:
    workspace = await new_workspace(sdk)

    await eventually(lambda: appproject(control_plane, workspace) is not None)
    await eventually(lambda: labelled(oam_namespace(control_plane, workspace), workspace))


async def test_destinations_follow_bindings_added_and_removed(
    sdk: DevopsClient, control_plane: KubeStandIn, member: KubeStandIn, syncer: Syncer
) -> None:
    workspace = await new_workspace(sdk)
    await bind(sdk, workspace, "dev")
    await eventually(lambda: destinations(control_plane, workspace) == {(member.url, "dev")})

    await bind(sdk, workspace, "prod")
    await eventually(
        lambda: (
            destinations(control_plane, workspace) == {(member.url, "dev"), (member.url, "prod")}
        )
    )

    await unbind(sdk, workspace, "dev")
    await eventually(lambda: destinations(control_plane, workspace) == {(member.url, "prod")})


async def test_deleted_workspace_loses_its_appproject_and_namespace(
    sdk: DevopsClient, control_plane: KubeStandIn, syncer: Syncer
) -> None:
    workspace = await new_workspace(sdk)
    await eventually(lambda: oam_namespace(control_plane, workspace) is not None)
    await eventually(lambda: appproject(control_plane, workspace) is not None)

    await sdk.call(sdk.tenancy.DeleteWorkspace, pb.WorkspaceRef(id=workspace))

    await eventually(lambda: appproject(control_plane, workspace) is None)
    await eventually(lambda: oam_namespace(control_plane, workspace) is None)


async def test_removed_cluster_leaves_the_destinations_of_every_workspace_bound_to_it(
    sdk: DevopsClient, control_plane: KubeStandIn, member: KubeStandIn, syncer: Syncer
) -> None:
    first, second = await new_workspace(sdk, "one"), await new_workspace(sdk, "two")
    await bind(sdk, first, "a")
    await bind(sdk, second, "b")
    await eventually(lambda: destinations(control_plane, second) == {(member.url, "b")})

    await sdk.call(sdk.tenancy.RemoveCluster, pb.ClusterRef(name="member-1"))

    await eventually(lambda: destinations(control_plane, first) == set())
    await eventually(lambda: destinations(control_plane, second) == set())


async def test_a_new_syncer_follows_the_changes_after_the_revision_its_reload_saw(
    sdk: DevopsClient,
    member: KubeStandIn,
    make_syncer: SyncerFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="services.syncer.casc")

    def cluster_changes() -> list[str]:
        return [r.getMessage() for r in caplog.records if "member cluster" in r.getMessage()]

    await make_syncer()
    await asyncio.sleep(0.3)

    # The member cluster was registered before the syncer started: in its reload, not replayed.
    assert cluster_changes() == []
    await sdk.call(sdk.tenancy.RemoveCluster, pb.ClusterRef(name="member-1"))
    await eventually(lambda: cluster_changes())


def namespace(name: str, **labels: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


async def test_orphan_of_a_workspace_deleted_while_no_syncer_ran_is_removed(
    control_plane: KubeStandIn, make_syncer: SyncerFactory
) -> None:
    control_plane.seed(
        namespace(
            "workspace-998-oam",
            **{"workbench.io/workspace": "998", "app.kubernetes.io/managed-by": "workbench"},
        )
    )

    await make_syncer()

    assert oam_namespace(control_plane, 998) is None


async def test_namespace_workbench_did_not_make_is_never_deleted(
    control_plane: KubeStandIn, make_syncer: SyncerFactory
) -> None:
    control_plane.seed(namespace("workspace-999-oam", **{"workbench.io/workspace": "999"}))

    await make_syncer()

    assert oam_namespace(control_plane, 999) is not None


async def test_existing_unlabelled_namespace_is_adopted(
    sdk: DevopsClient, control_plane: KubeStandIn, make_syncer: SyncerFactory
) -> None:
    workspace = await new_workspace(sdk)
    control_plane.seed(namespace(f"workspace-{workspace}-oam"))

    await make_syncer()

    assert labelled(oam_namespace(control_plane, workspace), workspace)


async def test_namespace_waiting_for_its_finalizers_is_deleted_once(
    sdk: DevopsClient, control_plane: KubeStandIn, make_syncer: SyncerFactory
) -> None:
    workspace = await new_workspace(sdk)
    await make_syncer(resync_seconds=0.2)
    name = f"workspace-{workspace}-oam"
    stored = oam_namespace(control_plane, workspace)
    assert stored is not None
    stored["metadata"]["finalizers"] = ["example.com/hold"]
    control_plane.seed(stored)
    await asyncio.sleep(0.2)
    control_plane.reset_writes()

    def terminating() -> bool:
        stored = oam_namespace(control_plane, workspace)
        return stored is not None and bool(stored["metadata"].get("deletionTimestamp"))

    await sdk.call(sdk.tenancy.DeleteWorkspace, pb.WorkspaceRef(id=workspace))
    await eventually(lambda: appproject(control_plane, workspace) is None)
    await eventually(terminating)
    before = reconciles("kubevela-namespace")
    await eventually(lambda: reconciles("kubevela-namespace") - before >= 3, within=15)

    assert terminating()  # several resyncs later, still waiting for its finalizer...
    assert control_plane.writes["namespaces"] == 1, name  # ...and deleted only once
