"""The README's walk through the tenancy API, run as written against the in-process stack.

The shell block is taken from README.md and run by bash with the real `curl` and the real
`workbench` command, against a state directory laid out as `workbench run` leaves it (the
sandbox secrets, `sandbox.json`, member-1's kubeconfig file). Only the address of the API is
changed. Every `# => answer` in the block must be what its step answered, and the steps must
have done what the prose says; so an edit to the API that breaks the walk-through fails here.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.apiserver.conftest import Stack
from tests.apiserver.test_clusters_api import register

ROOT = Path(__file__).resolve().parents[2]
MGMT = "/apis/amamba.io/v1alpha1/management"


def walk_through() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## A walk through the tenancy API", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found is not None
    return found.group(1)


def sandbox_state(stack: Stack, member: Any) -> Path:
    """The state directory `workbench run` would have left for this stack."""
    state = stack.settings.state_dir
    kubeconfig = state / "kube" / "member-1.yaml"
    kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    kubeconfig.write_text(yaml.safe_dump(member.kubeconfig()))
    secrets = {
        "jwt_secret": stack.settings.jwt_secret,
        "internal_token": stack.settings.internal_token,
        "encryption_key": stack.settings.encryption_key,
    }
    (state / "secrets.json").write_text(json.dumps(secrets))
    clusters = [{"name": "member-1", "kubeconfig": str(kubeconfig)}]
    (state / "sandbox.json").write_text(json.dumps({"clusters": clusters}))
    return state


async def run_shell(script: str, state: Path) -> list[str]:
    """Run `script` with bash, stopping at the first failing step; its output lines."""
    # Each answer on a line of its own, and an HTTP error fails the step.
    prelude = 'curl() { command curl --fail-with-body "$@"; echo; }\n'
    env = {**os.environ, "WORKBENCH_STATE_DIR": str(state)}
    env.pop("WORKBENCH_SANDBOX", None)
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-euo",
        "pipefail",
        "-c",
        prelude + script,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, (out.decode(), err.decode())
    return [line for line in out.decode().splitlines() if line.strip()]


async def test_the_readme_walk_through_works_as_written(stack: Stack, member_cluster: Any) -> None:
    await register(stack, member_cluster)  # as `workbench run` does for the sandbox
    script = walk_through()
    api_line = "API=http://127.0.0.1:8080\n"
    assert script.count(api_line) == 1
    script = script.replace(api_line, f"API=http://127.0.0.1:{stack.api.http_port}\n")
    script = script.replace(".venv/bin/", f"{Path(sys.executable).parent}/")

    answers = [
        json.loads(line) for line in await run_shell(script, sandbox_state(stack, member_cluster))
    ]

    expected = [json.loads(m) for m in re.findall(r"^# => (.*)$", walk_through(), re.MULTILINE)]
    assert len(expected) >= 2
    remaining = iter(answers)
    assert all(any(answer == want for answer in remaining) for want in expected), answers

    clusters = await stack.http.get(f"{MGMT}/clusternames", headers=stack.auth("admin"))
    bob_sees = await stack.http.get(
        "/apis/amamba.io/v1alpha1/workspaces/1/namespaces", headers=stack.auth("bob")
    )
    assert set(clusters.json()["items"]) == {"member-1", "member-2"}
    bound = {(n["cluster"], n["name"]) for n in bob_sees.json()["items"]}
    assert bound == {("member-1", "team-a-dev"), ("member-1", "default")}
    assert member_cluster.get_object("v1", "Namespace", "team-a-dev") is not None
