"""The `jenkins-credentials` controller: credential Secrets in the control-plane stand-in
become folder credentials in the Jenkins stand-ins, through a real devops-server and
PostgreSQL. Created, updated by content hash, deleted (also while Jenkins is down), repaired
after edits by hand, never touching credentials Workbench did not make, and converged into
the new instance when a workspace moves.

The Secrets are built by apiserver's own `_secret`, so they have exactly the shape apiserver
writes.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from amamba.credential.v1alpha1 import credentials_pb2 as cred
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio.client.exceptions import ApiException
from prometheus_client import REGISTRY

from libs.auth.tokens import mint
from libs.devops_client import DevopsClient
from sandbox.jenkins import JenkinsStandIn
from sandbox.kube import KubeStandIn
from services.apiserver import credentials as apiserver_credentials
from services.apiserver.app import ApiServer
from services.devops_server.app import DevopsServer
from services.syncer.app import Syncer
from services.syncer.credentials import JenkinsCredentials, Unusable, desired_credential, ours
from tests.conftest import eventually
from tests.credentials.conftest import CREDENTIALS, body
from tests.jenkins_client.helpers import secret_text_xml
from tests.syncer.conftest import SyncerFactory, new_workspace
from tests.syncer.test_jenkins_jobs import (
    add_pipeline,
    by_hand,
    register,
    standin,
    start_run,
    use,
)

NAMESPACE = "workbench-system"
KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n"
PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"


@pytest.fixture
async def instances(sdk: DevopsClient) -> AsyncIterator[tuple[JenkinsStandIn, JenkinsStandIn]]:
    """Two Jenkins instances, registered as `jenkins-a` and `jenkins-b`."""
    made = (await standin(), await standin())
    await register(sdk, "jenkins-a", made[0])
    await register(sdk, "jenkins-b", made[1])
    yield made
    for instance in made:
        await instance.stop()


async def put_secret(
    core: aclient.CoreV1Api,
    workspace_id: int,
    name: str,
    kind: Any,
    data: dict[str, str],
    description: str = "",
) -> None:
    """Create or replace a credential Secret, as apiserver writes it."""
    body = apiserver_credentials._secret(
        workspace_id, name, kind, description, data, namespace=NAMESPACE
    )
    try:
        await core.create_namespaced_secret(NAMESPACE, body)
    except ApiException as error:
        assert error.status == 409
        found = await core.read_namespaced_secret(body.metadata.name, NAMESPACE)
        body.metadata.resource_version = found.metadata.resource_version
        await core.replace_namespaced_secret(body.metadata.name, NAMESPACE, body)


async def delete_secret(core: aclient.CoreV1Api, workspace_id: int, name: str) -> None:
    await core.delete_namespaced_secret(
        apiserver_credentials.secret_name(workspace_id, name), NAMESPACE
    )


def stored(jenkins: JenkinsStandIn, workspace_id: int) -> dict[str, Any]:
    """The credentials in the workspace's folder, by id ({} without a folder)."""
    try:
        return dict(jenkins.folder(str(workspace_id)).credentials.domains["_"])
    except KeyError:
        return {}


def values(jenkins: JenkinsStandIn, workspace_id: int) -> dict[str, dict[str, str]]:
    return {key: dict(found.fields) for key, found in stored(jenkins, workspace_id).items()}


def controller(syncer: Syncer) -> JenkinsCredentials:
    assert syncer.reconcilers is not None
    return syncer.reconcilers.jenkins_credentials


def successes() -> float:
    value = REGISTRY.get_sample_value(
        "workbench_controller_reconciles_total",
        {"controller": "jenkins-credentials", "result": "success"},
    )
    return value or 0.0


async def workspace_on(sdk: DevopsClient, instance: str, alias: str = "team") -> int:
    workspace = await new_workspace(sdk, alias)
    await use(sdk, workspace, instance)
    return workspace


async def texts_on(
    sdk: DevopsClient, core: aclient.CoreV1Api, instance: str, texts: dict[str, str], alias: str
) -> int:
    """A workspace on `instance` with a secret-text credential Secret per entry."""
    workspace = await workspace_on(sdk, instance, alias)
    for name, secret in texts.items():
        await put_secret(core, workspace, name, cred.SECRET_TEXT, {"secret": secret})
    return workspace


# The rendering, without any server.


async def as_json(body: aclient.V1Secret) -> dict[str, Any]:
    """A typed Secret as the API server sends it."""
    async with aclient.ApiClient() as api:
        answer: dict[str, Any] = api.sanitize_for_serialization(body)
    return answer


async def rendered(uid: str = "uid-1", password: str = "s3cret", description: str = "") -> Any:
    body = apiserver_credentials._secret(
        7,
        "git",
        cred.USERNAME_PASSWORD,
        description,
        {"username": "bob", "password": password},
        namespace=NAMESPACE,
    )
    secret = await as_json(body)
    secret["metadata"]["uid"] = uid
    return desired_credential(secret)


async def test_the_description_carries_a_marker_whose_digest_follows_the_content() -> None:
    first = await rendered(description="the team's git login")

    assert first.id == "git"
    assert first.description.startswith("the team's git login [managed by Workbench: ")
    assert ours(first.description)
    assert await rendered(description="the team's git login") == first
    assert await rendered(password="other", description="the team's git login") != first
    assert (await rendered(description="changed")).description != first.description


async def test_the_digest_is_keyed_by_the_secret_uid_and_shows_no_value() -> None:
    one, other = await rendered(uid="uid-1"), await rendered(uid="uid-2")

    assert one.description != other.description
    assert "s3cret" not in one.description
    assert not ours("the team's git login")
    assert not ours("[managed by Workbench: nothex] added by hand")


async def test_values_are_escaped_in_the_xml() -> None:
    credential = await rendered(password="a<b>&c", description='quotes " and <tags>')

    assert "a&lt;b&gt;&amp;c" in credential.xml
    assert "<tags>" not in credential.xml


async def test_a_secret_of_an_unknown_type_or_missing_a_value_is_unusable() -> None:
    body = apiserver_credentials._secret(
        7, "x", cred.SECRET_TEXT, "", {"secret": "v"}, namespace=NAMESPACE
    )
    secret = await as_json(body)
    secret["metadata"]["annotations"]["workbench.io/credential-type"] = "CERTIFICATE"
    with pytest.raises(Unusable):
        desired_credential(secret)

    secret["metadata"]["annotations"]["workbench.io/credential-type"] = "SECRET_TEXT"
    secret["data"] = {}
    with pytest.raises(Unusable, match="'secret' is missing"):
        desired_credential(secret)


async def test_a_secret_that_cannot_be_mirrored_still_claims_its_id() -> None:
    async with aclient.ApiClient() as api:
        credentials = JenkinsCredentials(api, cast(Any, None), cast(Any, None), namespace=NAMESPACE)
    good = await as_json(
        apiserver_credentials._secret(
            7, "a", cred.SECRET_TEXT, "", {"secret": "x"}, namespace=NAMESPACE
        )
    )
    twin = copy.deepcopy(good)
    twin["metadata"]["name"] += "-copy"  # made by hand, with the same credential label
    broken = await as_json(
        apiserver_credentials._secret(7, "b", cred.SECRET_TEXT, "", {}, namespace=NAMESPACE)
    )
    other = await as_json(
        apiserver_credentials._secret(8, "c", cred.SECRET_TEXT, "", {}, namespace=NAMESPACE)
    )
    for secret in (good, twin, broken, other):
        credentials.cache.handle("ADDED", secret)

    wanted, claimed = credentials._desired(7)

    assert [credential.id for credential in wanted] == ["a"]
    assert claimed == {"a", "b"}


# The controller, against the stand-ins.


async def test_every_type_converges_into_an_empty_folder(
    sdk: DevopsClient,
    instances: tuple[JenkinsStandIn, JenkinsStandIn],
    core: aclient.CoreV1Api,
    make_syncer: SyncerFactory,
) -> None:
    jenkins_a = instances[0]
    workspace = await workspace_on(sdk, "jenkins-a")
    await put_secret(
        core, workspace, "git", cred.USERNAME_PASSWORD, {"username": "bob", "password": "pw"}
    )
    await put_secret(core, workspace, "token", cred.SECRET_TEXT, {"secret": "t0k"}, "API token")
    await put_secret(
        core,
        workspace,
        "deploy-key",
        cred.SSH_KEY,
        {"username": "git", "ssh-privatekey": PRIVATE_KEY, "passphrase": "pp"},
    )
    await put_secret(core, workspace, "cluster", cred.KUBECONFIG, {"kubeconfig": KUBECONFIG})

    await make_syncer()

    await eventually(lambda: len(stored(jenkins_a, workspace)) == 4, within=10)
    found = stored(jenkins_a, workspace)
    assert found["git"].fields == {"username": "bob", "password": "pw"}
    assert found["token"].fields == {"secret": "t0k"}
    assert found["token"].description.startswith("API token [managed by Workbench: ")
    assert found["deploy-key"].fields["privateKey"] == PRIVATE_KEY
    assert found["deploy-key"].fields["passphrase"] == "pp"
    assert found["cluster"].fields["fileName"] == "kubeconfig"
    assert all(ours(credential.description) for credential in found.values())


async def test_a_changed_secret_updates_its_credential_and_nothing_is_written_at_rest(
    sdk: DevopsClient,
    instances: tuple[JenkinsStandIn, JenkinsStandIn],
    core: aclient.CoreV1Api,
    make_syncer: SyncerFactory,
) -> None:
    jenkins_a = instances[0]
    workspace = await texts_on(sdk, core, "jenkins-a", {"token": "one", "other": "same"}, "a")
    syncer = await make_syncer(resync_seconds=0.2)
    await eventually(lambda: len(stored(jenkins_a, workspace)) == 2, within=10)
    # Both creations counted (each once Jenkins has answered, just after the stand-in has it).
    await eventually(lambda: controller(syncer).writes >= 2)

    # At rest, and after the Secret is written again with the same content: no write.
    writes = controller(syncer).writes
    changes: list[None] = []
    jenkins_a.jenkins.on_change = lambda: changes.append(None)
    await put_secret(core, workspace, "other", cred.SECRET_TEXT, {"secret": "same"})
    before = successes()
    await eventually(lambda: successes() >= before + 5, within=10)
    assert changes == []
    assert controller(syncer).writes == writes

    await put_secret(core, workspace, "token", cred.SECRET_TEXT, {"secret": "two"})
    await eventually(lambda: values(jenkins_a, workspace)["token"] == {"secret": "two"})
    assert values(jenkins_a, workspace)["other"] == {"secret": "same"}
    # Counted once Jenkins has answered, a moment after the stand-in holds the new value.
    await eventually(lambda: controller(syncer).writes == writes + 1)


async def test_a_deleted_secret_removes_only_its_own_credential(
    sdk: DevopsClient,
    instances: tuple[JenkinsStandIn, JenkinsStandIn],
    core: aclient.CoreV1Api,
    make_syncer: SyncerFactory,
) -> None:
    jenkins_a = instances[0]
    workspace = await texts_on(sdk, core, "jenkins-a", {"token": "one", "kept": "two"}, "a")
    await make_syncer()
    await eventually(lambda: len(stored(jenkins_a, workspace)) == 2, within=10)
    async with by_hand(jenkins_a) as hand:
        await hand.put_credential(
            str(workspace), "by-hand", secret_text_xml("by-hand", "x", "an admin's")
        )

    await delete_secret(core, workspace, "token")

    await eventually(lambda: set(stored(jenkins_a, workspace)) == {"kept", "by-hand"})


async def test_a_credential_edited_or_deleted_in_jenkins_is_repaired(
    sdk: DevopsClient,
    instances: tuple[JenkinsStandIn, JenkinsStandIn],
    core: aclient.CoreV1Api,
    make_syncer: SyncerFactory,
) -> None:
    jenkins_a = instances[0]
    workspace = await texts_on(sdk, core, "jenkins-a", {"gone": "two"}, "a")
    await put_secret(core, workspace, "token", cred.SECRET_TEXT, {"secret": "one"}, "mine")
    await make_syncer(resync_seconds=0.3)
    await eventually(lambda: len(stored(jenkins_a, workspace)) == 2, within=10)
    wanted = stored(jenkins_a, workspace)["token"].description

    async with by_hand(jenkins_a) as hand:
        await hand.update_credential(
            str(workspace), "token", secret_text_xml("token", "edited", "edited by hand")
        )
        await hand.delete_credential(str(workspace), "gone")

    await eventually(lambda: set(stored(jenkins_a, workspace)) == {"token", "gone"}, within=10)
    await eventually(lambda: values(jenkins_a, workspace)["token"] == {"secret": "one"})
    assert stored(jenkins_a, workspace)["token"].description == wanted


async def test_while_jenkins_is_down_secrets_come_and_go_and_it_catches_up_once_back(
    sdk: DevopsClient,
    instances: tuple[JenkinsStandIn, JenkinsStandIn],
    core: aclient.CoreV1Api,
    control_plane: KubeStandIn,
    make_syncer: SyncerFactory,
) -> None:
    jenkins_a, jenkins_b = instances
    on_a = await texts_on(sdk, core, "jenkins-a", {"old": "one"}, "on-a")
    on_b = await workspace_on(sdk, "jenkins-b", "on-b")
    await make_syncer()
    await eventually(lambda: set(stored(jenkins_a, on_a)) == {"old"}, within=10)

    await jenkins_a.down()
    await delete_secret(core, on_a, "old")
    await put_secret(core, on_a, "new", cred.SECRET_TEXT, {"secret": "two"})
    await put_secret(core, on_b, "elsewhere", cred.SECRET_TEXT, {"secret": "three"})

    # The Secret is gone at once, nothing waits for Jenkins; B's workspace converges.
    name = apiserver_credentials.secret_name(on_a, "old")
    assert control_plane.get_object("v1", "Secret", name, NAMESPACE) is None
    await eventually(lambda: set(stored(jenkins_b, on_b)) == {"elsewhere"}, within=10)
    assert set(stored(jenkins_a, on_a)) == {"old"}

    await jenkins_a.up()
    await eventually(lambda: set(stored(jenkins_a, on_a)) == {"new"}, within=15)


async def test_a_credentials_namespace_of_its_own_is_used_from_rest_to_jenkins(
    devops: DevopsServer,
    sdk: DevopsClient,
    instances: tuple[JenkinsStandIn, JenkinsStandIn],
    control_plane: KubeStandIn,
    core: aclient.CoreV1Api,
    make_syncer: SyncerFactory,
    tmp_path: Path,
) -> None:
    namespace = "team-credentials"
    workspace = await workspace_on(sdk, "jenkins-a")
    kubeconfig = control_plane.write_kubeconfig(tmp_path / "apiserver.yaml")
    settings = devops.settings.model_copy(
        update={"control_plane_kubeconfig": kubeconfig, "credentials_namespace": namespace}
    )
    assert settings.jwt_secret
    auth = {"Authorization": f"Bearer {mint('admin', settings.jwt_secret)}"}
    api = ApiServer(settings)
    await api.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.http_port}") as http:
            path = CREDENTIALS.format(workspace)
            made = await http.post(path, json=body("SECRET_TEXT", "token"), headers=auth)
            listed = await http.get(path, headers=auth)
    finally:
        await api.stop()
    # A Secret of the right shape in the default namespace is not the workspace's any more.
    await put_secret(core, workspace, "decoy", cred.SECRET_TEXT, {"secret": "no"})

    await make_syncer(settings={"credentials_namespace": namespace})

    assert made.status_code == 200, made.text
    assert [item["baseInfo"]["name"] for item in listed.json()["items"]] == ["token"]
    name = apiserver_credentials.secret_name(workspace, "token")
    assert control_plane.get_object("v1", "Namespace", namespace) is not None
    assert control_plane.get_object("v1", "Secret", name, namespace) is not None
    assert control_plane.get_object("v1", "Secret", name, NAMESPACE) is None
    await eventually(lambda: set(stored(instances[0], workspace)) == {"token"}, within=10)


async def test_a_workspace_moved_to_another_jenkins_gets_its_credentials_there(
    sdk: DevopsClient,
    instances: tuple[JenkinsStandIn, JenkinsStandIn],
    core: aclient.CoreV1Api,
    make_syncer: SyncerFactory,
) -> None:
    jenkins_a, jenkins_b = instances
    workspace = await texts_on(sdk, core, "jenkins-a", {"token": "one"}, "a")
    syncer = await make_syncer()
    await eventually(lambda: set(stored(jenkins_a, workspace)) == {"token"}, within=10)

    credentials = controller(syncer)
    async with by_hand(jenkins_b) as on_b:
        assert await credentials.missing(workspace, on_b) == {"token"}

        await use(sdk, workspace, "jenkins-b")

        await eventually(lambda: values(jenkins_b, workspace) == {"token": {"secret": "one"}})
        assert await credentials.missing(workspace, on_b) == set()


async def test_a_secret_held_by_a_finalizer_counts_as_deleted_once_its_deletion_is_asked(
    sdk: DevopsClient,
    instances: tuple[JenkinsStandIn, JenkinsStandIn],
    core: aclient.CoreV1Api,
    control_plane: KubeStandIn,
    make_syncer: SyncerFactory,
) -> None:
    jenkins_a = instances[0]
    workspace = await texts_on(sdk, core, "jenkins-a", {"held": "one"}, "a")
    name = apiserver_credentials.secret_name(workspace, "held")
    patch = {"metadata": {"finalizers": ["example.com/hold"]}}
    await core.patch_namespaced_secret(name, NAMESPACE, patch)
    await make_syncer()
    await eventually(lambda: set(stored(jenkins_a, workspace)) == {"held"}, within=10)

    await delete_secret(core, workspace, "held")

    await eventually(lambda: stored(jenkins_a, workspace) == {})
    held = control_plane.get_object("v1", "Secret", name, NAMESPACE)
    assert held is not None and held["metadata"]["deletionTimestamp"]


async def test_a_pipeline_of_the_workspace_binds_the_mirrored_credential_by_its_name(
    sdk: DevopsClient,
    instances: tuple[JenkinsStandIn, JenkinsStandIn],
    core: aclient.CoreV1Api,
    make_syncer: SyncerFactory,
) -> None:
    jenkins_a = instances[0]
    workspace = await texts_on(sdk, core, "jenkins-a", {"deploy-token": "t0ps3cret"}, "a")
    script = """pipeline {
    agent any
    stages {
        stage('Deploy') {
            steps {
                withCredentials([string(credentialsId: 'deploy-token', variable: 'TOKEN')]) {
                    sh 'echo using $TOKEN'
                }
            }
        }
    }
}
"""
    await make_syncer()
    await eventually(lambda: set(stored(jenkins_a, workspace)) == {"deploy-token"}, within=10)
    await add_pipeline(sdk, workspace, "deploy", script)

    await start_run(sdk, workspace, "deploy")

    run = await jenkins_a.wait_for_run(f"{workspace}/deploy", 1, within=15)
    log = run.log.decode()
    assert run.result == "SUCCESS", log
    assert "using ****" in log and "t0ps3cret" not in log
