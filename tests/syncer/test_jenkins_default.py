"""A workspace that chose no Jenkins instance follows the default one, and moves with it
exactly as a workspace moved by hand does: against two Jenkins stand-ins, a real devops-server
over gRPC and PostgreSQL, a new default gets the workspace's folder and jobs from the syncer,
the old folder is removed, the next run starts there, and a workspace that chose the old
instance stays on it.

devops-server's own sync loop is stopped in the first test, so the jobs that appear on the new
default were put there by the syncer, which heard of the move through the change log (its
resync period is a minute).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from google.protobuf import empty_pb2
from sqlalchemy import func, select
from workbench_sdk.devops.v1 import jenkins_pb2 as jenkins_sdk

from libs.devops_client import DevopsClient
from sandbox.jenkins import JenkinsStandIn
from services.devops_server.app import DevopsServer
from services.devops_server.store.tables import Change
from tests.conftest import eventually
from tests.syncer.conftest import SyncerFactory, new_workspace
from tests.syncer.test_jenkins_jobs import (
    add_pipeline,
    jobs,
    previous_instances,
    register,
    runs_of,
    standin,
    start_run,
    workspace_on,
)


@pytest.fixture
async def instances() -> AsyncIterator[tuple[JenkinsStandIn, JenkinsStandIn]]:
    """Two Jenkins stand-ins, not registered yet."""
    made = (await standin(), await standin())
    yield made
    for instance in made:
        await instance.stop()


@pytest.fixture
async def quiet_devops(devops: DevopsServer) -> DevopsServer:
    """devops-server without its pipeline sync loop: only the syncer repairs Jenkins."""
    await devops.pipeline_sync.stop()
    return devops


async def last_revision(devops: DevopsServer) -> int:
    async with devops.sessions() as session:
        return int(await session.scalar(select(func.coalesce(func.max(Change.revision), 0))))


async def changes_since(devops: DevopsServer, revision: int) -> set[tuple[str, str]]:
    """(kind, key) of every change the tenancy change log took after `revision`."""
    async with devops.sessions() as session:
        rows = await session.execute(
            select(Change.kind, Change.key).where(Change.revision > revision)
        )
        return {(row.kind, row.key) for row in rows}


async def workspace_ci(sdk: DevopsClient, workspace_id: int) -> jenkins_sdk.WorkspaceCI:
    ref = jenkins_sdk.WorkspaceCIRef(workspace_id=workspace_id)
    answer: jenkins_sdk.WorkspaceCI = await sdk.call(sdk.jenkins.GetWorkspaceCI, ref)
    return answer


async def test_a_workspace_following_the_default_moves_to_a_new_default_whole(
    sdk: DevopsClient,
    quiet_devops: DevopsServer,
    instances: tuple[JenkinsStandIn, JenkinsStandIn],
    make_syncer: SyncerFactory,
) -> None:
    jenkins_a, jenkins_b = instances
    await register(sdk, "jenkins-a", jenkins_a, default=True)
    following = await new_workspace(sdk, "following")
    await add_pipeline(sdk, following, "build")
    chose_a = await workspace_on(sdk, "jenkins-a", ("build",), "chose-a")
    assert jobs(jenkins_a, following) == jobs(jenkins_a, chose_a) == {"build"}  # pushed on save
    before = await last_revision(quiet_devops)

    await register(sdk, "jenkins-b", jenkins_b, default=True)

    # Recorded as a move by hand is, before any syncer runs: the old instance is listed to
    # clean, and the change log names the workspace that moved, not the one that chose A.
    assert (await workspace_ci(sdk, following)).jenkins == "jenkins-b"
    assert await previous_instances(sdk, following) == ["jenkins-a"]
    assert (await workspace_ci(sdk, chose_a)).jenkins == "jenkins-a"
    assert await changes_since(quiet_devops, before) == {
        ("workspace", str(following)),
        ("jenkins", "jenkins-b"),
    }

    await make_syncer()

    await eventually(lambda: jobs(jenkins_b, following) == {"build"}, within=15)
    await eventually(lambda: jobs(jenkins_a, following) is None, within=15)

    async def previous_forgotten() -> bool:
        return await previous_instances(sdk, following) == []

    await eventually(previous_forgotten)
    assert jobs(jenkins_a, chose_a) == {"build"}
    assert jobs(jenkins_b, chose_a) is None

    # The next run runs on the new default.
    await start_run(sdk, following, "build")
    await jenkins_b.wait_for_run(f"{following}/build", 1, within=15)

    async def ran_on_b() -> bool:
        runs = await runs_of(quiet_devops, following)
        return [(run.jenkins, run.state) for run in runs] == [("jenkins-b", "SUCCESS")]

    await eventually(ran_on_b, within=15)


async def test_two_defaults_registered_at_once_leave_every_instance_left_to_clean(
    sdk: DevopsClient,
    devops: DevopsServer,
    instances: tuple[JenkinsStandIn, JenkinsStandIn],
) -> None:
    """They take turns: one default is left, and the second registration to commit sees the
    instance the first made default, so the workspace remembers both it followed before."""
    jenkins_a, jenkins_b = instances
    await register(sdk, "jenkins-a", jenkins_a, default=True)
    following = await new_workspace(sdk)

    # Hold the instance rows, so that both registrations are under way before either commits.
    assert devops.settings.database_url
    holder = await asyncpg.connect(devops.settings.database_url)
    held = holder.transaction()
    await held.start()
    await holder.execute("SELECT name FROM jenkins_instances FOR UPDATE")
    both = asyncio.gather(
        register(sdk, "jenkins-b", jenkins_b, default=True),
        register(sdk, "jenkins-c", jenkins_b, default=True),
    )
    await asyncio.sleep(1.0)
    await held.rollback()
    await holder.close()
    await both

    listed = await sdk.call(sdk.jenkins.ListJenkins, empty_pb2.Empty())
    [default] = [item.name for item in listed.items if item.default]
    settings = await workspace_ci(sdk, following)
    assert settings.jenkins == default
    assert sorted(item.name for item in settings.previous) == sorted(
        {"jenkins-a", "jenkins-b", "jenkins-c"} - {default}
    )
