"""The Jenkins controllers survive what Jenkins and the control plane do to them: Jenkins
answering 409 or 500 to every request until it recovers, and the credential Secrets' watch
dropped or its history expired. Each case ends converged, with the key retried meanwhile."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from amamba.credential.v1alpha1 import credentials_pb2 as cred
from kubernetes_asyncio import client as aclient

from libs.devops_client import DevopsClient
from sandbox.jenkins import JenkinsStandIn
from sandbox.kube import KubeStandIn
from services.devops_server.app import DevopsServer
from services.syncer.app import Syncer
from tests.conftest import eventually
from tests.syncer.conftest import new_workspace
from tests.syncer.test_credentials import delete_secret, put_secret, stored
from tests.syncer.test_faults import retries
from tests.syncer.test_jenkins_jobs import add_pipeline, jobs, register, standin, use

NAMESPACE = "workbench-system"


@pytest.fixture
async def jenkins(sdk: DevopsClient) -> AsyncIterator[JenkinsStandIn]:
    """One Jenkins stand-in, registered as `jenkins-a`."""
    made = await standin()
    await register(sdk, "jenkins-a", made)
    yield made
    await made.stop()


async def workspace_on_a(sdk: DevopsClient) -> int:
    workspace = await new_workspace(sdk)
    await use(sdk, workspace, "jenkins-a")
    return workspace


async def text(core: aclient.CoreV1Api, workspace_id: int, name: str) -> None:
    await put_secret(core, workspace_id, name, cred.SECRET_TEXT, {"secret": f"{name}-value"})


@pytest.mark.parametrize("status", [409, 500])
async def test_credentials_are_retried_while_jenkins_answers_an_error_and_converge_after(
    status: int,
    sdk: DevopsClient,
    jenkins: JenkinsStandIn,
    core: aclient.CoreV1Api,
    syncer: Syncer,
) -> None:
    workspace = await workspace_on_a(sdk)
    before = retries("jenkins-credentials")
    jenkins.fail_with(status)

    await text(core, workspace, "token")

    await eventually(lambda: retries("jenkins-credentials") >= before + 2, within=10)
    jenkins.heal()
    assert stored(jenkins, workspace) == {}
    await eventually(lambda: set(stored(jenkins, workspace)) == {"token"}, within=10)


@pytest.mark.parametrize("status", [409, 500])
async def test_jobs_are_retried_while_jenkins_answers_an_error_and_converge_after(
    status: int,
    sdk: DevopsClient,
    devops: DevopsServer,
    jenkins: JenkinsStandIn,
    syncer: Syncer,
) -> None:
    await devops.pipeline_sync.stop()  # only the syncer repairs Jenkins
    workspace = await workspace_on_a(sdk)
    await add_pipeline(sdk, workspace, "build")
    await eventually(lambda: jobs(jenkins, workspace) == {"build"}, within=10)
    before = retries("jenkins-jobs")
    jenkins.fail_with(status)

    saved = await add_pipeline(sdk, workspace, "deploy")  # its own push fails too

    assert not saved.sync.in_sync
    await eventually(lambda: retries("jenkins-jobs") >= before + 2, within=10)
    jenkins.heal()
    await eventually(lambda: jobs(jenkins, workspace) == {"build", "deploy"}, within=10)


def secret_lists(standin: KubeStandIn) -> int:
    """How many times the credential Secrets were listed (not watched)."""
    path = f"/api/v1/namespaces/{NAMESPACE}/secrets"
    return sum(
        1
        for method, target in standin.requests
        if method == "GET" and target.split("?")[0] == path and "watch=" not in target
    )


async def converged_after(core: aclient.CoreV1Api, jenkins: JenkinsStandIn, workspace: int) -> None:
    """Delete `first` and add `second` while the watch recovers; both reach Jenkins."""
    await delete_secret(core, workspace, "first")
    await text(core, workspace, "second")
    await eventually(lambda: set(stored(jenkins, workspace)) == {"second"}, within=10)


async def test_credentials_follow_secrets_after_their_watch_was_dropped(
    sdk: DevopsClient,
    control_plane: KubeStandIn,
    jenkins: JenkinsStandIn,
    core: aclient.CoreV1Api,
    syncer: Syncer,
) -> None:
    workspace = await workspace_on_a(sdk)
    await text(core, workspace, "first")
    await eventually(lambda: set(stored(jenkins, workspace)) == {"first"}, within=10)

    assert control_plane.drop_watches() >= 1

    await converged_after(core, jenkins, workspace)


async def test_credentials_follow_secrets_after_the_watch_history_expired(
    sdk: DevopsClient,
    control_plane: KubeStandIn,
    jenkins: JenkinsStandIn,
    core: aclient.CoreV1Api,
    syncer: Syncer,
) -> None:
    workspace = await workspace_on_a(sdk)
    await text(core, workspace, "first")
    await eventually(lambda: set(stored(jenkins, workspace)) == {"first"}, within=10)

    control_plane.expire_history(notify_watches=True)

    await converged_after(core, jenkins, workspace)


async def test_credentials_follow_secrets_after_a_watch_resumed_from_an_expired_version(
    sdk: DevopsClient,
    control_plane: KubeStandIn,
    jenkins: JenkinsStandIn,
    core: aclient.CoreV1Api,
    syncer: Syncer,
) -> None:
    workspace = await workspace_on_a(sdk)
    await text(core, workspace, "first")
    await eventually(lambda: set(stored(jenkins, workspace)) == {"first"}, within=10)
    listed = secret_lists(control_plane)

    # One write the watch cannot have seen yet, then compaction past it: the watches come
    # back from a version now too old, get 410, and list again.
    marker = {"apiVersion": "v1", "kind": "ConfigMap"}
    control_plane.seed({**marker, "metadata": {"name": "later", "namespace": "default"}})
    control_plane.expire_history()
    control_plane.drop_watches()

    await converged_after(core, jenkins, workspace)
    assert secret_lists(control_plane) > listed
