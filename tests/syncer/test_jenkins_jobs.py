"""The `jenkins-jobs` controller against two Jenkins stand-ins, a real devops-server and
PostgreSQL: each workspace's folder and jobs converge, drift is repaired, jobs nobody owns
are reported and kept, a Jenkins down holds back only its own workspaces, nothing is written
at rest, and a workspace moved to another Jenkins ends there whole, its history kept.

devops-server's own sync loop is stopped in these tests, so every job that appears in
Jenkins after a save that could not be pushed was put there by the syncer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from amamba.credential.v1alpha1 import credentials_pb2 as cred
from amamba.pipeline.v1alpha1 import jenkins_instances_pb2 as jenkins_api
from amamba.pipeline.v1alpha1 import pipelines_pb2 as api
from kubernetes_asyncio import client as kube_client
from kubernetes_asyncio import config as kube_config
from prometheus_client import REGISTRY
from sqlalchemy import select
from workbench_sdk.devops.v1 import jenkins_pb2 as jenkins_sdk
from workbench_sdk.devops.v1 import pipelines_pb2 as pipelines_sdk
from workbench_sdk.devops.v1 import runs_pb2 as runs_sdk

from libs.devops_client import DevopsClient
from libs.jenkins import JenkinsClient
from sandbox.jenkins import JenkinsStandIn
from sandbox.kube import KubeStandIn
from services.devops_server.app import DevopsServer
from services.devops_server.store.tables import Run
from services.syncer.app import Syncer
from services.syncer.jenkins_jobs import JenkinsJobs
from tests.conftest import eventually
from tests.syncer.conftest import SyncerFactory, new_workspace

SCRIPT = """pipeline {
    agent any
    stages {
        stage('Build') {
            steps {
                echo 'building'
            }
        }
    }
}
"""

SLOW_SCRIPT = SCRIPT.replace("echo 'building'", "sleep 300")  # 3 s at time_scale 100


async def standin() -> JenkinsStandIn:
    made = JenkinsStandIn(time_scale=100.0)
    await made.start()
    return made


@pytest.fixture
async def jenkins_a() -> AsyncIterator[JenkinsStandIn]:
    made = await standin()
    yield made
    await made.stop()


@pytest.fixture
async def jenkins_b() -> AsyncIterator[JenkinsStandIn]:
    made = await standin()
    yield made
    await made.stop()


@pytest.fixture
async def quiet_devops(devops: DevopsServer) -> DevopsServer:
    """devops-server without its pipeline sync loop: only the syncer repairs Jenkins."""
    await devops.pipeline_sync.stop()
    return devops


Both = tuple[JenkinsStandIn, JenkinsStandIn]


@pytest.fixture
async def both(sdk: DevopsClient, jenkins_a: JenkinsStandIn, jenkins_b: JenkinsStandIn) -> Both:
    """Both stand-ins, registered as `jenkins-a` and `jenkins-b`."""
    await register(sdk, "jenkins-a", jenkins_a)
    await register(sdk, "jenkins-b", jenkins_b)
    return jenkins_a, jenkins_b


async def register(
    sdk: DevopsClient, name: str, jenkins: JenkinsStandIn, *, default: bool = False
) -> None:
    config = jenkins_api.JenkinsConfig(
        address=jenkins.url, username=jenkins.admin_user, password=jenkins.api_token
    )
    request = jenkins_api.RegisterJenkinsRequest(name=name, config=config, default=default)
    await sdk.call(sdk.jenkins.RegisterJenkins, request)


async def use(sdk: DevopsClient, workspace_id: int, name: str) -> None:
    request = jenkins_sdk.WorkspaceJenkins(workspace_id=workspace_id, name=name)
    await sdk.call(sdk.jenkins.SetWorkspaceJenkins, request)


async def add_pipeline(
    sdk: DevopsClient, workspace_id: int, name: str, script: str = SCRIPT
) -> Any:
    request = api.CreatePipelineRequest(
        workspace_id=str(workspace_id), name=name, type=api.PIPELINE_TYPE_CUSTOM
    )
    new = pipelines_sdk.NewPipeline(pipeline=request, jenkinsfile=script)
    return await sdk.call(sdk.pipelines.CreatePipeline, new)


async def workspace_on(
    sdk: DevopsClient, instance: str, pipelines: tuple[str, ...], alias: str = "team"
) -> int:
    """A new workspace on `instance` with a pipeline of each name."""
    workspace = await new_workspace(sdk, alias)
    await use(sdk, workspace, instance)
    for name in pipelines:
        await add_pipeline(sdk, workspace, name)
    return workspace


async def start_run(sdk: DevopsClient, workspace_id: int, name: str) -> int:
    request = runs_sdk.StartRunRequest(workspace_id=workspace_id, name=name)
    run = await sdk.call(sdk.runs.StartRun, request)
    run_id: int = run.run_id
    return run_id


def jobs(jenkins: JenkinsStandIn, workspace_id: int) -> set[str] | None:
    """The names in the workspace's folder; None without a folder."""
    try:
        folder = jenkins.folder(str(workspace_id))
    except KeyError:
        return None
    return set(folder.children)


async def runs_of(devops: DevopsServer, workspace_id: int) -> list[Run]:
    async with devops.sessions() as session:
        found = await session.scalars(
            select(Run).where(Run.workspace_id == workspace_id).order_by(Run.id)
        )
        return list(found)


def credentials(jenkins: JenkinsStandIn, workspace_id: int) -> set[str]:
    """The ids of the credentials in the workspace's folder (none without a folder)."""
    try:
        return set(jenkins.folder(str(workspace_id)).credentials.domains["_"])
    except KeyError:
        return set()


async def secret_text(control_plane: KubeStandIn, workspace_id: int, name: str, value: str) -> None:
    """A secret-text credential of the workspace, as apiserver stores it (a Secret)."""
    # Imported here: that module imports helpers from this one.
    from tests.syncer.test_credentials import put_secret

    api = await kube_config.new_client_from_config_dict(control_plane.kubeconfig())
    try:
        core = kube_client.CoreV1Api(api)
        await put_secret(core, workspace_id, name, cred.SECRET_TEXT, {"secret": value})
    finally:
        await api.close()


def jobs_controller(syncer: Syncer) -> JenkinsJobs:
    assert syncer.reconcilers is not None
    return syncer.reconcilers.jenkins_jobs


def unknown_gauge(instance: str) -> float:
    value = REGISTRY.get_sample_value(
        "workbench_syncer_jenkins_unknown_jobs", {"instance": instance}
    )
    return value or 0.0


def unknown_folders_gauge(instance: str) -> float:
    value = REGISTRY.get_sample_value(
        "workbench_syncer_jenkins_unknown_folders", {"instance": instance}
    )
    return value or 0.0


async def previous_instances(sdk: DevopsClient, workspace_id: int) -> list[str]:
    """The instances a workspace left whose folder devops-server still lists to clean."""
    ref = jenkins_sdk.WorkspaceCIRef(workspace_id=workspace_id)
    ci = await sdk.call(sdk.jenkins.GetWorkspaceCI, ref)
    return [item.name for item in ci.previous]


def successes() -> float:
    value = REGISTRY.get_sample_value(
        "workbench_controller_reconciles_total",
        {"controller": "jenkins-jobs", "result": "success"},
    )
    return value or 0.0


def by_hand(jenkins: JenkinsStandIn) -> JenkinsClient:
    """A client of the instance, as a person editing Jenkins would use."""
    return JenkinsClient(jenkins.url, jenkins.admin_user, jenkins.api_token)


async def test_a_workspace_pointed_at_a_jenkins_gets_its_folder_and_every_job(
    sdk: DevopsClient, quiet_devops: DevopsServer, jenkins_a: JenkinsStandIn, syncer: Syncer
) -> None:
    workspace = await new_workspace(sdk)
    # No instance yet: the saves cannot be pushed and stay pending.
    for name in ("build", "deploy"):
        saved = await add_pipeline(sdk, workspace, name)
        assert not saved.sync.in_sync

    await register(sdk, "jenkins-a", jenkins_a)
    await use(sdk, workspace, "jenkins-a")

    await eventually(lambda: jobs(jenkins_a, workspace) == {"build", "deploy"}, within=10)
    key = pipelines_sdk.PipelineKey(workspace_id=workspace, name="build")
    record = await sdk.call(sdk.pipelines.GetPipeline, key)
    assert record.sync.in_sync


async def test_a_job_deleted_or_edited_by_hand_is_restored_and_an_unknown_job_kept(
    sdk: DevopsClient,
    quiet_devops: DevopsServer,
    jenkins_a: JenkinsStandIn,
    make_syncer: SyncerFactory,
) -> None:
    await register(sdk, "jenkins-a", jenkins_a)
    workspace = await workspace_on(sdk, "jenkins-a", ("build", "deploy"))
    async with by_hand(jenkins_a) as hand:
        generated = await hand.get_job_config((str(workspace), "deploy"))
        syncer = await make_syncer(resync_seconds=0.3)
        await eventually(lambda: successes() > 0)

        await hand.delete_item((str(workspace), "build"))
        await hand.create_or_update_job(
            (str(workspace), "deploy"), generated.replace("building", "edited by hand")
        )
        await hand.create_or_update_job((str(workspace), "stray"), generated)

        await eventually(lambda: jobs(jenkins_a, workspace) == {"build", "deploy", "stray"})

        async def restored() -> bool:
            return await hand.get_job_config((str(workspace), "deploy")) == generated

        await eventually(restored, within=10)

    await eventually(lambda: jobs_controller(syncer).unknown_jobs(workspace) == {"stray"})
    assert unknown_gauge("jenkins-a") >= 1
    assert jobs(jenkins_a, workspace) == {"build", "deploy", "stray"}


async def test_a_jenkins_down_holds_back_only_its_own_workspaces_and_converges_once_back(
    sdk: DevopsClient,
    quiet_devops: DevopsServer,
    both: Both,
    make_syncer: SyncerFactory,
) -> None:
    jenkins_a, jenkins_b = both
    on_a = await workspace_on(sdk, "jenkins-a", (), "on-a")
    on_b = await workspace_on(sdk, "jenkins-b", ("build",), "on-b")
    await make_syncer(resync_seconds=0.3)
    await eventually(lambda: jobs(jenkins_a, on_a) == set())  # the syncer made the folder

    await jenkins_a.down()
    saved = await add_pipeline(sdk, on_a, "build")
    assert not saved.sync.in_sync
    async with by_hand(jenkins_b) as hand:
        await hand.delete_item((str(on_b), "build"))

    # Jenkins A refuses every connection; B's workspace is repaired all the same.
    await eventually(lambda: jobs(jenkins_b, on_b) == {"build"}, within=10)
    assert jobs(jenkins_a, on_a) == set()

    await jenkins_a.up()
    await eventually(lambda: jobs(jenkins_a, on_a) == {"build"}, within=15)


async def test_nothing_is_written_to_jenkins_at_rest(
    sdk: DevopsClient,
    quiet_devops: DevopsServer,
    jenkins_a: JenkinsStandIn,
    make_syncer: SyncerFactory,
) -> None:
    await register(sdk, "jenkins-a", jenkins_a)
    workspace = await workspace_on(sdk, "jenkins-a", ("build", "deploy", "test"))
    syncer = await make_syncer(resync_seconds=0.2)
    await eventually(lambda: successes() > 0)
    # The jenkins-casc controller's one write, its first pass over the instance, is done.
    await eventually(lambda: jenkins_a.receiver is not None)
    writes = jobs_controller(syncer).writes
    changes: list[None] = []
    jenkins_a.jenkins.on_change = lambda: changes.append(None)

    before = successes()
    await eventually(lambda: successes() >= before + 5, within=10)

    assert changes == []
    assert jobs_controller(syncer).writes == writes
    assert jobs(jenkins_a, workspace) == {"build", "deploy", "test"}


async def test_the_syncer_counts_its_writes_to_jenkins_with_those_to_the_control_plane(
    sdk: DevopsClient,
    quiet_devops: DevopsServer,
    jenkins_a: JenkinsStandIn,
    make_syncer: SyncerFactory,
) -> None:
    await register(sdk, "jenkins-a", jenkins_a)
    workspace = await workspace_on(sdk, "jenkins-a", ("build",))

    syncer = await make_syncer(resync_seconds=0.3)  # ready: AppProject and OAM namespace made
    async with by_hand(jenkins_a) as hand:
        await hand.delete_item((str(workspace),))

    # The folder and the job come back; the syncer counts the writes it made of them.
    await eventually(lambda: jobs(jenkins_a, workspace) == {"build"}, within=10)
    await eventually(lambda: jobs_controller(syncer).writes >= 1, within=10)
    assert syncer.reconcilers is not None
    casc = syncer.reconcilers.jenkins_casc.writes  # the instance's Configuration as Code
    assert casc > 0
    assert syncer.writes == 2 + jobs_controller(syncer).writes + casc


async def test_a_workspace_moved_to_a_second_jenkins_ends_with_all_its_jobs_and_credentials(
    sdk: DevopsClient,
    devops: DevopsServer,
    both: Both,
    control_plane: KubeStandIn,
    syncer: Syncer,
) -> None:
    jenkins_a, jenkins_b = both
    workspace = await workspace_on(sdk, "jenkins-a", ("build", "deploy", "test"))
    await secret_text(control_plane, workspace, "deploy-token", "t0ps3cret")
    await eventually(lambda: jobs(jenkins_a, workspace) == {"build", "deploy", "test"})
    await eventually(lambda: credentials(jenkins_a, workspace) == {"deploy-token"}, within=10)
    first = await start_run(sdk, workspace, "build")
    await jenkins_a.wait_for_run(f"{workspace}/build", 1)

    async def first_ended() -> bool:
        return [run.state for run in await runs_of(devops, workspace)] == ["SUCCESS"]

    await eventually(first_ended, within=15)

    await use(sdk, workspace, "jenkins-b")

    await eventually(lambda: jobs(jenkins_b, workspace) == {"build", "deploy", "test"}, within=15)
    await eventually(lambda: jobs(jenkins_a, workspace) is None, within=15)
    assert credentials(jenkins_b, workspace) == {"deploy-token"}

    async def previous_forgotten() -> bool:
        return await previous_instances(sdk, workspace) == []

    await eventually(previous_forgotten)
    ci = await sdk.call(
        sdk.jenkins.GetWorkspaceCI, jenkins_sdk.WorkspaceCIRef(workspace_id=workspace)
    )
    assert ci.jenkins == "jenkins-b"

    # History stays in the database, with the instance each run ran on.
    [kept] = await runs_of(devops, workspace)
    assert (kept.seq, kept.jenkins, kept.state, kept.build_number) == (
        first,
        "jenkins-a",
        "SUCCESS",
        1,
    )

    # The next run runs on the new instance.
    second = await start_run(sdk, workspace, "build")
    await jenkins_b.wait_for_run(f"{workspace}/build", 1)

    async def second_ended() -> bool:
        runs = await runs_of(devops, workspace)
        return [(run.seq, run.jenkins, run.state) for run in runs] == [
            (first, "jenkins-a", "SUCCESS"),
            (second, "jenkins-b", "SUCCESS"),
        ]

    await eventually(second_ended, within=15)


async def test_the_old_folder_waits_for_the_builds_still_running_there(
    sdk: DevopsClient,
    devops: DevopsServer,
    both: Both,
    make_syncer: SyncerFactory,
) -> None:
    jenkins_a, jenkins_b = both
    workspace = await new_workspace(sdk)
    await use(sdk, workspace, "jenkins-a")
    await add_pipeline(sdk, workspace, "slow", SLOW_SCRIPT)
    syncer = await make_syncer()
    jobs_controller(syncer).wait_seconds = 0.2
    await start_run(sdk, workspace, "slow")

    async def running() -> bool:
        return [run.state for run in await runs_of(devops, workspace)] == ["RUNNING"]

    await eventually(running, within=10)

    await use(sdk, workspace, "jenkins-b")

    await eventually(lambda: jobs(jenkins_b, workspace) == {"slow"}, within=10)
    assert jobs(jenkins_a, workspace) == {"slow"}  # its build still runs there
    run = await jenkins_a.wait_for_run(f"{workspace}/slow", 1, within=15)
    assert run.result == "SUCCESS"
    await eventually(lambda: jobs(jenkins_a, workspace) is None, within=15)


async def test_converge_workspace_names_each_job_by_what_it_did(
    sdk: DevopsClient, quiet_devops: DevopsServer, jenkins_a: JenkinsStandIn
) -> None:
    await register(sdk, "jenkins-a", jenkins_a)
    workspace = await workspace_on(sdk, "jenkins-a", ("build", "deploy", "test"))
    async with by_hand(jenkins_a) as hand:
        await hand.delete_item((str(workspace), "build"))
        generated = await hand.get_job_config((str(workspace), "deploy"))
        await hand.create_or_update_job(
            (str(workspace), "deploy"), generated.replace("building", "edited by hand")
        )

    key = pipelines_sdk.WorkspaceKey(workspace_id=workspace)
    first = await sdk.call(sdk.pipelines.ConvergeWorkspace, key)
    again = await sdk.call(sdk.pipelines.ConvergeWorkspace, key)

    assert (first.jenkins, list(first.created), list(first.updated), list(first.unchanged)) == (
        "jenkins-a",
        ["build"],
        ["deploy"],
        ["test"],
    )
    assert sorted(again.unchanged) == ["build", "deploy", "test"]
    assert not (again.created or again.updated or again.failed)


async def test_a_workspace_moved_again_before_the_cleanup_keeps_every_instance_to_clean(
    sdk: DevopsClient,
    devops: DevopsServer,
    both: Both,
) -> None:
    """No syncer runs here: the previous instances pile up until one cleans them."""
    workspace = await workspace_on(sdk, "jenkins-a", ())

    await use(sdk, workspace, "jenkins-b")
    assert await previous_instances(sdk, workspace) == ["jenkins-a"]
    await use(sdk, workspace, "jenkins-b")
    assert await previous_instances(sdk, workspace) == ["jenkins-a"]
    await use(sdk, workspace, "jenkins-a")  # back where its folder still is
    assert await previous_instances(sdk, workspace) == ["jenkins-b"]


async def test_a_top_level_item_of_no_workspace_is_reported_and_kept(
    sdk: DevopsClient,
    quiet_devops: DevopsServer,
    jenkins_a: JenkinsStandIn,
    make_syncer: SyncerFactory,
) -> None:
    await register(sdk, "jenkins-a", jenkins_a)
    workspace = await workspace_on(sdk, "jenkins-a", ("build",))
    async with by_hand(jenkins_a) as hand:
        generated = await hand.get_job_config((str(workspace), "build"))
        await hand.create_or_update_job(("someone-elses",), generated)

    await make_syncer(resync_seconds=0.2)

    await eventually(lambda: unknown_folders_gauge("jenkins-a") == 1.0)
    assert jenkins_a.item("someone-elses") is not None


async def test_an_old_folder_holding_a_job_nobody_owns_loses_only_workbenchs_jobs(
    sdk: DevopsClient,
    devops: DevopsServer,
    both: Both,
    make_syncer: SyncerFactory,
) -> None:
    jenkins_a, jenkins_b = both
    workspace = await workspace_on(sdk, "jenkins-a", ("build", "deploy"))
    async with by_hand(jenkins_a) as hand:
        generated = await hand.get_job_config((str(workspace), "build"))
        await hand.create_or_update_job((str(workspace), "hand-made"), generated)
    await make_syncer(resync_seconds=0.2)

    await use(sdk, workspace, "jenkins-b")

    await eventually(lambda: jobs(jenkins_b, workspace) == {"build", "deploy"}, within=10)
    await eventually(lambda: jobs(jenkins_a, workspace) == {"hand-made"}, within=10)

    async def previous_forgotten() -> bool:
        return await previous_instances(sdk, workspace) == []

    await eventually(previous_forgotten)

    await eventually(lambda: unknown_folders_gauge("jenkins-a") == 1.0)
    assert jobs(jenkins_a, workspace) == {"hand-made"}


async def test_a_run_asked_for_while_the_move_is_not_converged_waits_and_runs_there(
    sdk: DevopsClient, devops: DevopsServer, both: Both, make_syncer: SyncerFactory
) -> None:
    jenkins_a, jenkins_b = both
    workspace = await workspace_on(sdk, "jenkins-a", ("build",))
    await use(sdk, workspace, "jenkins-b")  # no syncer yet: B has no job
    await start_run(sdk, workspace, "build")
    await devops.dispatcher.pass_once()
    await devops.dispatcher.pass_once()
    [waiting] = await runs_of(devops, workspace)
    assert (waiting.state, waiting.queue_id) == ("QUEUE", None)

    await make_syncer()

    await jenkins_b.wait_for_run(f"{workspace}/build", 1, within=15)

    async def ran_on_b() -> bool:
        return [(run.jenkins, run.state) for run in await runs_of(devops, workspace)] == [
            ("jenkins-b", "SUCCESS")
        ]

    await eventually(ran_on_b, within=15)
    await eventually(lambda: jobs(jenkins_a, workspace) is None)


async def test_the_old_folder_waits_for_the_credentials_on_the_new_instance(
    sdk: DevopsClient, both: Both, make_syncer: SyncerFactory
) -> None:
    jenkins_a, jenkins_b = both
    workspace = await workspace_on(sdk, "jenkins-a", ("build",))
    syncer = await make_syncer(resync_seconds=0.2)
    lacking = Lacking({"deploy-token"})
    jobs_controller(syncer).credentials = lacking

    await use(sdk, workspace, "jenkins-b")

    await eventually(lambda: jobs(jenkins_b, workspace) == {"build"}, within=10)
    await eventually(lambda: lacking.asked >= 3)
    assert jobs(jenkins_a, workspace) == {"build"}
    assert await previous_instances(sdk, workspace) == ["jenkins-a"]

    lacking.ids = set()
    await eventually(lambda: jobs(jenkins_a, workspace) is None, within=10)


class Lacking:
    """A credentials check saying the new instance lacks `ids`, counting the questions."""

    def __init__(self, ids: set[str]) -> None:
        self.ids = ids
        self.asked = 0

    async def missing(self, workspace_id: int, jenkins: JenkinsClient) -> set[str]:
        self.asked += 1
        return set(self.ids)
