"""`workbench sandbox-info`: what it prints is enough to reach the stand-ins it describes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client, config

from sandbox.ports import free_port
from workbench import stack


def _sandbox_info(state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WORKBENCH_STATE_DIR": str(state)}
    command = [sys.executable, "-m", "workbench.cli", "sandbox-info"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def _eventually(check: Any, *, within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        try:
            return check()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The stand-ins `workbench run` starts, on free ports, their info kept as run keeps it."""
    for name in ("JENKINS_PORT", "EVENT_PROXY_PORT", "CONTROL_PLANE_PORT", "MEMBER_PORT"):
        monkeypatch.setattr(stack, name, free_port())
    (tmp_path / "logs").mkdir()
    env = {**os.environ, "WORKBENCH_STATE_DIR": str(tmp_path)}
    children, info = stack._sandbox(tmp_path, env)
    stack.write_sandbox_info(tmp_path, info)
    yield tmp_path
    for child in children:
        child.terminate()
    for child in children:
        child.wait(10)


def test_sandbox_info_tells_how_to_reach_jenkins_and_both_clusters(sandbox: Path) -> None:
    done = _sandbox_info(sandbox)

    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert set(info) == {"jenkins", "clusters"}
    assert set(info["jenkins"]) == {"address", "username", "password"}
    assert [c["name"] for c in info["clusters"]] == ["control-plane", "member-1"]

    jenkins = info["jenkins"]
    auth = (jenkins["username"], jenkins["password"])
    whoami = _eventually(
        lambda: httpx.get(f"{jenkins['address']}/me/api/json", auth=auth).raise_for_status()
    )
    assert whoami.json()["id"] == jenkins["username"]
    refused = httpx.get(f"{jenkins['address']}/me/api/json", auth=(jenkins["username"], "wrong"))
    assert refused.status_code == 401

    for cluster in info["clusters"]:
        kubeconfig = cluster["kubeconfig"]
        api = _eventually(lambda path=kubeconfig: config.new_client_from_config(path))
        namespaces = client.CoreV1Api(api).list_namespace()
        assert "default" in [n.metadata.name for n in namespaces.items]
        api.close()


def test_sandbox_info_is_readable_by_its_owner_only(sandbox: Path) -> None:
    mode = stat.S_IMODE((sandbox / stack.SANDBOX_FILE).stat().st_mode)

    assert mode == 0o600


def test_sandbox_info_without_a_sandbox_says_how_to_start_one(tmp_path: Path) -> None:
    done = _sandbox_info(tmp_path)

    assert done.returncode == 1
    assert done.stdout == ""
    assert "no sandbox is running: start one with `make run`" in done.stderr


def test_the_kube_readme_shows_the_ports_workbench_run_uses() -> None:
    readme = (Path(__file__).parents[2] / "sandbox" / "kube" / "README.md").read_text()

    assert f"--name control-plane --port {stack.CONTROL_PLANE_PORT} " in readme
    assert f"--name member-1 --port {stack.MEMBER_PORT} " in readme
