"""Test hooks: seeding and inspecting state, injected faults, the write counter, persistence,
and the `python -m sandbox.kube` entry point."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest
import yaml
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import config as aconfig

from sandbox.kube import KubeStandIn
from tests.conftest import eventually, free_port
from tests.sandbox.kube.conftest import app_project, configmap, rollout

REPO = Path(__file__).resolve().parents[3]


async def test_seed_keeps_status_and_is_visible_to_clients(
    cluster: KubeStandIn, api: aclient.ApiClient
) -> None:
    body = rollout("r") | {"status": {"phase": "Healthy"}}
    body["metadata"]["namespace"] = "default"
    cluster.seed(body)
    fetched = await aclient.CustomObjectsApi(api).get_namespaced_custom_object(
        "argoproj.io", "v1alpha1", "default", "rollouts", "r"
    )
    assert fetched["status"] == {"phase": "Healthy"} and fetched["metadata"]["uid"]


async def test_seed_of_unknown_kind_is_a_key_error(cluster: KubeStandIn) -> None:
    with pytest.raises(KeyError):
        cluster.seed(app_project("p"))  # Argo CD is not installed on a member cluster


async def test_get_object_returns_what_a_client_wrote(
    cluster: KubeStandIn, core: aclient.CoreV1Api
) -> None:
    await core.create_namespaced_config_map("kube-system", configmap("a", k="v"))
    stored = cluster.get_object("v1", "ConfigMap", "a", namespace="kube-system")
    assert stored is not None and stored["data"] == {"k": "v"}


async def test_list_objects_filters_by_namespace(
    cluster: KubeStandIn, core: aclient.CoreV1Api
) -> None:
    await core.create_namespaced_config_map("kube-system", configmap("a"))
    await core.create_namespaced_config_map("default", configmap("b"))
    names = [o["metadata"]["name"] for o in cluster.list_objects("v1", "ConfigMap", "default")]
    assert names == ["b"]


async def test_fail_next_write_answers_a_real_conflict_once(
    cluster: KubeStandIn, core: aclient.CoreV1Api
) -> None:
    created = await core.create_namespaced_config_map("default", configmap("a"))
    cluster.fail_next_write(409)
    with pytest.raises(aclient.ApiException) as caught:
        await core.replace_namespaced_config_map("a", "default", created)
    await core.replace_namespaced_config_map("a", "default", created)
    assert caught.value.status == 409 and json.loads(caught.value.body)["reason"] == "Conflict"


async def test_write_fault_can_target_one_resource(
    cluster: KubeStandIn, core: aclient.CoreV1Api
) -> None:
    cluster.fail_next_write(500, resource="secrets")
    await core.create_namespaced_config_map("default", configmap("a"))
    with pytest.raises(aclient.ApiException) as caught:
        await core.create_namespaced_secret("default", {"metadata": {"name": "s"}})
    assert caught.value.status == 500


async def test_write_fault_leaves_reads_alone(
    cluster: KubeStandIn, core: aclient.CoreV1Api
) -> None:
    cluster.fail_next_write(500)
    await core.list_namespaced_config_map("default")
    with pytest.raises(aclient.ApiException):
        await core.create_namespaced_config_map("default", configmap("a"))


async def test_fail_requests_fails_reads_until_cleared(
    cluster: KubeStandIn, core: aclient.CoreV1Api
) -> None:
    cluster.fail_requests(503)
    with pytest.raises(aclient.ApiException) as caught:
        await core.list_namespace()
    cluster.clear_faults()
    await core.list_namespace()
    assert caught.value.status == 503


async def test_fail_requests_with_a_count_stops_by_itself(
    cluster: KubeStandIn, core: aclient.CoreV1Api
) -> None:
    cluster.fail_requests(500, times=2)
    outcomes = []
    for _ in range(3):
        try:
            await core.list_namespace()
            outcomes.append("ok")
        except aclient.ApiException as exc:
            outcomes.append(str(exc.status))
    assert outcomes == ["500", "500", "ok"]


async def test_writes_count_mutating_requests_per_resource(
    cluster: KubeStandIn, core: aclient.CoreV1Api
) -> None:
    cluster.reset_writes()
    created = await core.create_namespaced_config_map("default", configmap("a"))
    await core.replace_namespaced_config_map("a", "default", created)
    await core.read_namespaced_config_map("a", "default")
    await core.list_namespaced_config_map("default")
    await core.delete_namespaced_config_map("a", "default")
    assert cluster.writes == {"configmaps": 3} and cluster.total_writes == 3


async def test_writes_count_refused_writes_too(
    cluster: KubeStandIn, core: aclient.CoreV1Api
) -> None:
    cluster.reset_writes()
    with pytest.raises(aclient.ApiException):
        await core.delete_namespaced_secret("missing", "default")
    assert cluster.writes["secrets"] == 1


async def test_requests_are_recorded(cluster: KubeStandIn, core: aclient.CoreV1Api) -> None:
    await core.read_namespace("default")
    assert cluster.requests[-1] == ("GET", "/api/v1/namespaces/default")


async def test_state_directory_keeps_objects_across_restarts(tmp_path: Path) -> None:
    first = KubeStandIn("member-1", token="t", state_dir=tmp_path)
    await first.start()
    first.seed(configmap("kept") | {"metadata": {"name": "kept", "namespace": "default"}})
    rv = first.resource_version
    await first.stop()

    second = KubeStandIn("member-1", token="t", state_dir=tmp_path)
    await second.start()
    kept = second.get_object("v1", "ConfigMap", "kept")
    second_rv = second.resource_version
    await second.stop()
    assert kept is not None and second_rv == rv


async def test_restored_cluster_expires_older_watch_versions(tmp_path: Path) -> None:
    first = KubeStandIn("member-1", token="t", state_dir=tmp_path)
    first.seed(configmap("kept") | {"metadata": {"name": "kept", "namespace": "default"}})
    first.flush()
    second = KubeStandIn("member-1", token="t", state_dir=tmp_path)
    assert second.store.compacted == second.resource_version > 0


async def test_command_line_serves_and_writes_a_kubeconfig(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "cp.yaml"
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox.kube",
        "--name",
        "control-plane",
        "--port",
        str(port),
        "--kubeconfig",
        str(kubeconfig),
        "--control-plane",
        "--state",
        str(tmp_path / "s"),
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await eventually(kubeconfig.exists, within=60)  # a new interpreter, on a busy machine
        config = yaml.safe_load(kubeconfig.read_text())
        api = await aconfig.new_client_from_config_dict(config)
        namespace = await aclient.CoreV1Api(api).read_namespace("argocd")
        await api.close()
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 10)
    assert config["clusters"][0]["cluster"]["server"] == f"http://127.0.0.1:{port}"
    assert namespace.metadata.name == "argocd"
    assert code == 0 and (tmp_path / "s" / "state.json").exists()
