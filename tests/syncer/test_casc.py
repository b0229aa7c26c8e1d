"""The `jenkins-casc` controller: each registered instance's Configuration as Code (its root
URL, its event receiver, its own agent templates) written into its ConfigMap in the
control-plane (or member) cluster stand-in and loaded into the Jenkins stand-in, through a
real devops-server and PostgreSQL. Converges from nothing, repairs ConfigMaps edited or
deleted by hand and a Jenkins that lost its configuration, survives Jenkins down, a 409, a
dropped watch and a 410, reports a configuration Jenkins rejects while the last good one
stays, rolls back one that passes the check and fails to apply, and writes nothing at rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import yaml
from amamba.pipeline.v1alpha1 import jenkins_instances_pb2 as jenkins_api
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import config as aconfig
from prometheus_client import REGISTRY
from workbench_sdk.devops.v1 import jenkins_pb2 as jenkins_sdk
from workbench_sdk.devops.v1 import tenancy_pb2 as tenancy_sdk

from libs.devops_client import DevopsClient
from sandbox.jenkins import JenkinsStandIn
from sandbox.kube import KubeStandIn
from services.syncer.app import Syncer
from services.syncer.casc import APPLIED, KEY, LAST_GOOD, REJECTED, ROLLED_BACK, JenkinsCasc
from tests.conftest import eventually
from tests.syncer.conftest import MEMBER, SyncerFactory, reconciles
from tests.syncer.test_jenkins_jobs import standin

NAMESPACE = "workbench-system"
CONFIG_MAP = "jenkins-casc-config-jenkins-a"
RECEIVER = "http://127.0.0.1:19095/event"
AGENTS = """
jenkins:
  clouds:
  - kubernetes:
      name: kubernetes
      namespace: jenkins-agents
      templates:
      - name: go
        label: go
        containers:
        - name: go
          image: golang:1.22
unclassified:
  location:
    url: http://somewhere-else/
"""

# Passes Jenkins's check (a dry run calls no setter) and fails its apply half way: the system
# message is set, then the executor count refused, and the rest never applied.
GOOD = "jenkins:\n  systemMessage: good\n"
BROKEN = "jenkins:\n  systemMessage: broken\n  numExecutors: -1\n"


@pytest.fixture
async def jenkins() -> AsyncIterator[JenkinsStandIn]:
    made = await standin()
    yield made
    await made.stop()


async def register(
    sdk: DevopsClient,
    jenkins: JenkinsStandIn,
    *,
    name: str = "jenkins-a",
    cluster: str = "",
    namespace: str = "",
    **fields: Any,
) -> None:
    """(Re-)register a stand-in (by default as `jenkins-a`, the default instance)."""
    config = jenkins_api.JenkinsConfig(
        address=jenkins.url,
        username=jenkins.admin_user,
        password=jenkins.api_token,
        cluster=cluster,
        namespace=namespace,
    )
    request = jenkins_api.RegisterJenkinsRequest(
        name=name, config=config, default=name == "jenkins-a", **fields
    )
    await sdk.call(sdk.jenkins.RegisterJenkins, request)


def configmap(
    cluster: KubeStandIn, name: str = CONFIG_MAP, namespace: str = NAMESPACE
) -> dict[str, Any] | None:
    return cluster.get_object("v1", "ConfigMap", name, namespace)


def document(cluster: KubeStandIn, name: str = CONFIG_MAP, namespace: str = NAMESPACE) -> Any:
    """The document in Workbench's key of the ConfigMap; None without one."""
    found = configmap(cluster, name, namespace)
    text = ((found or {}).get("data") or {}).get(KEY)
    return yaml.safe_load(text) if text is not None else None


def receiver_in(cluster: KubeStandIn, name: str = CONFIG_MAP, namespace: str = NAMESPACE) -> Any:
    unclassified = (document(cluster, name, namespace) or {}).get("unclassified") or {}
    return (unclassified.get("eventDispatcher") or {}).get("receiver")


def annotations(cluster: KubeStandIn) -> dict[str, str]:
    return dict(((configmap(cluster) or {}).get("metadata") or {}).get("annotations") or {})


def applied(cluster: KubeStandIn) -> bool:
    return APPLIED in annotations(cluster) and REJECTED not in annotations(cluster)


def applied_in(member: KubeStandIn) -> bool:
    """Whether the ConfigMap in namespace `ci` of a member cluster records a document applied."""
    found = configmap(member, "jenkins-casc-config", "ci") or {}
    return APPLIED in ((found.get("metadata") or {}).get("annotations") or {})


def controller(syncer: Syncer) -> JenkinsCasc:
    assert syncer.reconcilers is not None
    return syncer.reconcilers.jenkins_casc


def metric(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def retries() -> float:
    return metric("workbench_controller_retries_total", {"controller": "jenkins-casc"})


async def resyncs(count: int) -> None:
    """Wait until `count` more reconciles of the instance have succeeded (a resync each, 0.2 s
    apart when the machine is idle, later when it is not)."""
    before = reconciles("jenkins-casc")
    await eventually(lambda: reconciles("jenkins-casc") - before >= count, within=15)


def rejected_gauge() -> float:
    return metric("workbench_syncer_casc_rejected", {"instance": "jenkins-a"})


async def converged(
    sdk: DevopsClient, jenkins: JenkinsStandIn, control_plane: KubeStandIn, **fields: Any
) -> None:
    await register(sdk, jenkins, event_proxy_url=RECEIVER, **fields)
    await eventually(lambda: applied(control_plane) and jenkins.receiver == RECEIVER)


async def edit_by_hand(control_plane: KubeStandIn, patch: dict[str, Any]) -> None:
    api = await aconfig.new_client_from_config_dict(control_plane.kubeconfig())
    try:
        await aclient.CoreV1Api(api).patch_namespaced_config_map(
            CONFIG_MAP,
            NAMESPACE,
            patch,
            _content_type="application/merge-patch+json",  # type: ignore[call-arg]
        )
    finally:
        await api.close()


async def delete_by_hand(control_plane: KubeStandIn, name: str = CONFIG_MAP) -> None:
    api = await aconfig.new_client_from_config_dict(control_plane.kubeconfig())
    try:
        await aclient.CoreV1Api(api).delete_namespaced_config_map(name, NAMESPACE)
    finally:
        await api.close()


# From empty.


async def test_a_new_instance_gets_its_configmap_and_runs_its_configuration(
    sdk: DevopsClient, control_plane: KubeStandIn, jenkins: JenkinsStandIn, syncer: Syncer
) -> None:
    await register(sdk, jenkins, event_proxy_url=RECEIVER)

    await eventually(lambda: applied(control_plane))
    found = configmap(control_plane)
    assert found is not None
    assert found["metadata"]["labels"] == {
        "workbench.io/jenkins-instance": "jenkins-a",
        "app.kubernetes.io/managed-by": "workbench",
    }
    assert document(control_plane) == {
        "unclassified": {
            "eventDispatcher": {"receiver": RECEIVER},
            "location": {"url": jenkins.url},
        }
    }
    assert jenkins.receiver == RECEIVER
    assert jenkins.jenkins.settings.location_url == jenkins.url


async def test_without_an_event_proxy_url_the_receiver_is_the_event_proxy_beside_jenkins(
    sdk: DevopsClient, control_plane: KubeStandIn, jenkins: JenkinsStandIn, syncer: Syncer
) -> None:
    await register(sdk, jenkins)

    await eventually(lambda: jenkins.receiver == "http://127.0.0.1:9095/event")
    assert receiver_in(control_plane) == "http://127.0.0.1:9095/event"


async def test_the_instances_own_agent_templates_go_along_and_workbench_settings_win(
    sdk: DevopsClient, control_plane: KubeStandIn, jenkins: JenkinsStandIn, syncer: Syncer
) -> None:
    await converged(sdk, jenkins, control_plane, casc=AGENTS)

    written = document(control_plane)
    assert written["jenkins"]["clouds"][0]["kubernetes"]["templates"][0]["name"] == "go"
    assert written["unclassified"]["location"]["url"] == jenkins.url
    # devops-server reads the agents back from what Jenkins runs.
    agents = await sdk.call(sdk.jenkins.ListAgents, jenkins_sdk.ListAgentsRequest())
    assert [(agent.name, agent.namespace) for agent in agents.agents] == [("go", "jenkins-agents")]


async def test_an_instance_in_a_member_cluster_gets_the_configmap_in_its_namespace(
    sdk: DevopsClient,
    control_plane: KubeStandIn,
    member: KubeStandIn,
    jenkins: JenkinsStandIn,
    syncer: Syncer,
) -> None:
    member.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ci"}})

    await register(sdk, jenkins, event_proxy_url=RECEIVER, cluster=MEMBER, namespace="ci")

    await eventually(lambda: receiver_in(member, "jenkins-casc-config", "ci") == RECEIVER)
    await eventually(lambda: jenkins.receiver == RECEIVER)
    assert configmap(control_plane) is None


async def test_a_member_cluster_registered_again_elsewhere_gets_the_writes_there(
    sdk: DevopsClient, member: KubeStandIn, jenkins: JenkinsStandIn, syncer: Syncer
) -> None:
    member.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ci"}})
    await register(sdk, jenkins, event_proxy_url=RECEIVER, cluster=MEMBER, namespace="ci")
    await eventually(lambda: applied_in(member))
    moved = KubeStandIn(f"{MEMBER}-moved")
    await moved.start()
    try:
        moved.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ci"}})

        await sdk.call(sdk.tenancy.RemoveCluster, tenancy_sdk.ClusterRef(name=MEMBER))
        request = tenancy_sdk.RegisterClusterRequest(
            name=MEMBER, kubeconfig=moved.kubeconfig_text()
        )
        await sdk.call(sdk.tenancy.RegisterCluster, request)

        await eventually(lambda: applied_in(moved))
        member.reset_writes()
        await register(
            sdk,
            jenkins,
            event_proxy_url="http://10.0.0.7:9095/event",
            cluster=MEMBER,
            namespace="ci",
        )
        await eventually(lambda: jenkins.receiver == "http://10.0.0.7:9095/event")
        await eventually(
            lambda: receiver_in(moved, "jenkins-casc-config", "ci") == "http://10.0.0.7:9095/event"
        )
        assert member.writes["configmaps"] == 0
    finally:
        await moved.stop()


# Drift.


async def test_a_configmap_edited_by_hand_is_put_back(
    sdk: DevopsClient, control_plane: KubeStandIn, jenkins: JenkinsStandIn, syncer: Syncer
) -> None:
    await converged(sdk, jenkins, control_plane)
    text = configmap(control_plane)["data"][KEY]  # type: ignore[index]

    await edit_by_hand(control_plane, {"data": {KEY: "unclassified: {}\n", "other.yaml": "x"}})

    await eventually(lambda: configmap(control_plane)["data"][KEY] == text)  # type: ignore[index]
    # Keys Workbench does not own are left as they are.
    assert configmap(control_plane)["data"]["other.yaml"] == "x"  # type: ignore[index]


async def test_a_configmap_deleted_by_hand_is_written_again(
    sdk: DevopsClient, control_plane: KubeStandIn, jenkins: JenkinsStandIn, syncer: Syncer
) -> None:
    await converged(sdk, jenkins, control_plane)

    await delete_by_hand(control_plane)

    await eventually(lambda: applied(control_plane) and receiver_in(control_plane) == RECEIVER)


async def test_a_jenkins_that_lost_its_configuration_gets_it_again_at_the_resync(
    sdk: DevopsClient,
    control_plane: KubeStandIn,
    jenkins: JenkinsStandIn,
    make_syncer: SyncerFactory,
) -> None:
    await make_syncer(resync_seconds=0.3)
    await converged(sdk, jenkins, control_plane)
    control_plane.reset_writes()

    jenkins.apply_casc("unclassified:\n  eventDispatcher:\n    receiver: ''\n")
    assert jenkins.receiver is None

    await eventually(lambda: jenkins.receiver == RECEIVER)
    assert control_plane.writes["configmaps"] == 0


async def test_a_changed_registration_is_written_and_loaded(
    sdk: DevopsClient, control_plane: KubeStandIn, jenkins: JenkinsStandIn, syncer: Syncer
) -> None:
    await converged(sdk, jenkins, control_plane)

    await register(sdk, jenkins, event_proxy_url="http://10.0.0.7:9095/event")

    await eventually(lambda: jenkins.receiver == "http://10.0.0.7:9095/event")
    await eventually(lambda: receiver_in(control_plane) == "http://10.0.0.7:9095/event")


# Faults.


async def test_while_jenkins_is_down_nothing_is_written_and_it_converges_once_back(
    sdk: DevopsClient, control_plane: KubeStandIn, jenkins: JenkinsStandIn, syncer: Syncer
) -> None:
    await converged(sdk, jenkins, control_plane)
    before = retries()
    await jenkins.down()

    await delete_by_hand(control_plane)
    await eventually(lambda: retries() >= before + 2)
    # An unchecked document is never written.
    assert configmap(control_plane) is None

    await jenkins.up()
    await eventually(lambda: applied(control_plane) and receiver_in(control_plane) == RECEIVER)


async def test_a_conflict_on_the_configmap_write_is_retried_until_converged(
    sdk: DevopsClient, control_plane: KubeStandIn, jenkins: JenkinsStandIn, syncer: Syncer
) -> None:
    before = retries()
    control_plane.fail_next_write(409, resource="configmaps")

    await converged(sdk, jenkins, control_plane)

    assert retries() >= before + 1


async def test_a_conflict_on_an_update_is_retried_against_the_newer_configmap(
    sdk: DevopsClient, control_plane: KubeStandIn, jenkins: JenkinsStandIn, syncer: Syncer
) -> None:
    await converged(sdk, jenkins, control_plane)
    before = retries()
    control_plane.fail_next_write(409, resource="configmaps")

    await register(sdk, jenkins, event_proxy_url="http://10.0.0.7:9095/event")

    await eventually(lambda: receiver_in(control_plane) == "http://10.0.0.7:9095/event")
    await eventually(lambda: applied(control_plane))
    assert retries() >= before + 1


async def test_a_deletion_is_repaired_after_the_watches_were_dropped(
    sdk: DevopsClient, control_plane: KubeStandIn, jenkins: JenkinsStandIn, syncer: Syncer
) -> None:
    await converged(sdk, jenkins, control_plane)

    assert control_plane.drop_watches() >= 1
    control_plane.delete_object("v1", "ConfigMap", CONFIG_MAP, NAMESPACE)

    await eventually(lambda: applied(control_plane) and receiver_in(control_plane) == RECEIVER)


async def test_a_deletion_is_repaired_after_the_watch_history_expired(
    sdk: DevopsClient, control_plane: KubeStandIn, jenkins: JenkinsStandIn, syncer: Syncer
) -> None:
    await converged(sdk, jenkins, control_plane)

    control_plane.expire_history()
    control_plane.drop_watches()  # the watch comes back with a version now too old: 410
    control_plane.delete_object("v1", "ConfigMap", CONFIG_MAP, NAMESPACE)

    await eventually(lambda: applied(control_plane) and receiver_in(control_plane) == RECEIVER)


# A configuration Jenkins rejects.


async def test_a_rejected_configuration_is_reported_and_the_last_good_one_stays(
    sdk: DevopsClient, control_plane: KubeStandIn, jenkins: JenkinsStandIn, syncer: Syncer
) -> None:
    await converged(sdk, jenkins, control_plane)
    good = configmap(control_plane)["data"][KEY]  # type: ignore[index]

    # A root element no plugin of this Jenkins configures, with a new receiver beside it.
    await register(sdk, jenkins, event_proxy_url="http://10.0.0.7:9095/event", casc="bogus: {}\n")

    await eventually(lambda: REJECTED in annotations(control_plane))
    note = annotations(control_plane)[REJECTED]
    assert "No configurator for the following root elements: bogus" in note
    assert rejected_gauge() == 1
    assert configmap(control_plane)["data"][KEY] == good  # type: ignore[index]
    assert jenkins.receiver == RECEIVER

    await register(sdk, jenkins, event_proxy_url="http://10.0.0.7:9095/event")

    await eventually(lambda: jenkins.receiver == "http://10.0.0.7:9095/event")
    await eventually(lambda: REJECTED not in annotations(control_plane))
    await eventually(lambda: rejected_gauge() == 0)


async def test_a_rejection_is_logged_once(
    sdk: DevopsClient,
    control_plane: KubeStandIn,
    jenkins: JenkinsStandIn,
    make_syncer: SyncerFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await make_syncer(resync_seconds=0.2)
    await converged(sdk, jenkins, control_plane)
    caplog.set_level(logging.WARNING, logger="services.syncer.casc")

    await register(sdk, jenkins, event_proxy_url=RECEIVER, casc="bogus: {}\n")
    await eventually(lambda: REJECTED in annotations(control_plane))
    await resyncs(3)

    rejections = [r for r in caplog.records if "rejects the configuration" in r.getMessage()]
    assert len(rejections) == 1
    assert "bogus" in rejections[0].getMessage()


async def test_a_configuration_that_fails_to_apply_is_rolled_back_to_the_last_good_one(
    sdk: DevopsClient,
    control_plane: KubeStandIn,
    jenkins: JenkinsStandIn,
    make_syncer: SyncerFactory,
) -> None:
    await make_syncer(resync_seconds=0.2)
    await converged(sdk, jenkins, control_plane, casc=GOOD)
    good = configmap(control_plane)["data"][KEY]  # type: ignore[index]
    await eventually(
        lambda: document(control_plane, CONFIG_MAP + LAST_GOOD) == yaml.safe_load(good)
    )

    await register(sdk, jenkins, event_proxy_url="http://10.0.0.7:9095/event", casc=BROKEN)

    await eventually(lambda: {ROLLED_BACK, APPLIED} <= set(annotations(control_plane)))
    assert configmap(control_plane)["data"][KEY] == good  # type: ignore[index]
    assert "apply failed" in annotations(control_plane)[REJECTED]
    assert rejected_gauge() == 1
    assert jenkins.jenkins.settings.system_message == "good"  # the half-applied part undone
    assert jenkins.receiver == RECEIVER

    # Held there: the resyncs neither write nor try the broken document again.
    await asyncio.sleep(0.3)
    control_plane.reset_writes()
    changes: list[None] = []  # a reload or an apply that sets anything in Jenkins
    jenkins.jenkins.on_change = lambda: changes.append(None)
    await resyncs(3)
    assert control_plane.writes["configmaps"] == 0
    assert changes == []
    assert jenkins.jenkins.settings.system_message == "good"

    await register(sdk, jenkins, event_proxy_url="http://10.0.0.7:9095/event", casc=GOOD)

    await eventually(lambda: jenkins.receiver == "http://10.0.0.7:9095/event")
    await eventually(
        lambda: applied(control_plane) and ROLLED_BACK not in annotations(control_plane)
    )
    await eventually(lambda: rejected_gauge() == 0)  # set once the annotations' write returns


async def test_the_last_good_copy_deleted_by_hand_is_written_again(
    sdk: DevopsClient, control_plane: KubeStandIn, jenkins: JenkinsStandIn, syncer: Syncer
) -> None:
    await converged(sdk, jenkins, control_plane, casc=GOOD)
    await eventually(lambda: configmap(control_plane, CONFIG_MAP + LAST_GOOD) is not None)

    await delete_by_hand(control_plane, CONFIG_MAP + LAST_GOOD)

    await eventually(lambda: document(control_plane, CONFIG_MAP + LAST_GOOD) is not None)
    assert document(control_plane, CONFIG_MAP + LAST_GOOD) == document(control_plane)


async def test_a_first_configuration_that_fails_to_apply_is_taken_out_of_the_configmap(
    sdk: DevopsClient, control_plane: KubeStandIn, jenkins: JenkinsStandIn, syncer: Syncer
) -> None:
    await register(sdk, jenkins, event_proxy_url=RECEIVER, casc=BROKEN)

    # Two writes: the key taken out (with the rolled-back mark), then the rejection noted.
    await eventually(lambda: {ROLLED_BACK, REJECTED} <= set(annotations(control_plane)))
    assert KEY not in (configmap(control_plane) or {}).get("data", {})
    assert "apply failed" in annotations(control_plane)[REJECTED]
    assert rejected_gauge() == 1
    assert configmap(control_plane, CONFIG_MAP + LAST_GOOD) is None


# At rest.


async def test_nothing_is_written_at_rest(
    sdk: DevopsClient,
    control_plane: KubeStandIn,
    jenkins: JenkinsStandIn,
    make_syncer: SyncerFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    syncer = await make_syncer(resync_seconds=0.2)
    await converged(sdk, jenkins, control_plane, casc=AGENTS)
    await asyncio.sleep(0.3)  # the watch events of the syncer's own writes come back
    control_plane.reset_writes()
    writes = controller(syncer).writes
    caplog.set_level(logging.INFO, logger="libs.jenkins._client")

    await resyncs(3)  # the resyncs reconciled the instance...

    assert control_plane.writes["configmaps"] == 0  # ...and wrote nothing
    assert controller(syncer).writes == writes
    sent = [r.getMessage() for r in caplog.records if "configuration-as-code/" in r.getMessage()]
    assert sent and all("configuration-as-code/export" in line for line in sent)


async def test_a_second_instance_in_the_same_namespace_leaves_the_first_ones_configmap(
    sdk: DevopsClient,
    member: KubeStandIn,
    jenkins: JenkinsStandIn,
    syncer: Syncer,
) -> None:
    member.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ci"}})
    await register(sdk, jenkins, event_proxy_url=RECEIVER, cluster=MEMBER, namespace="ci")
    await eventually(lambda: receiver_in(member, "jenkins-casc-config", "ci") == RECEIVER)
    before = retries()

    second = await standin()
    try:
        await register(
            sdk,
            second,
            name="jenkins-b",
            event_proxy_url="http://10.0.0.7:9095/event",
            cluster=MEMBER,
            namespace="ci",
        )

        await eventually(lambda: retries() >= before + 2)
        assert receiver_in(member, "jenkins-casc-config", "ci") == RECEIVER
        assert second.receiver is None
    finally:
        await second.stop()


async def test_a_stopped_syncer_leaves_no_configmap_watch_running(
    sdk: DevopsClient, member: KubeStandIn, jenkins: JenkinsStandIn, make_syncer: SyncerFactory
) -> None:
    member.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ci"}})
    # Two instances placed in one namespace, reconciled at once by the first resync.
    await register(sdk, jenkins, event_proxy_url=RECEIVER, cluster=MEMBER, namespace="ci")
    await register(sdk, jenkins, name="jenkins-b", cluster=MEMBER, namespace="ci")
    syncer = await make_syncer()
    await eventually(lambda: receiver_in(member, "jenkins-casc-config", "ci") is not None)

    await syncer.stop()

    running = [t for t in asyncio.all_tasks() if t.get_name().startswith("jenkins-casc-watch")]
    assert running == []
