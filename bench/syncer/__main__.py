"""`python -m bench.syncer`: how fast the syncer converges a burst of workspaces, and what it
costs at rest.

Three processes, as deployed: devops-server (a fresh database on `BENCH_DATABASE_URL`,
default the local server), a control-plane Kubernetes stand-in (`python -m sandbox.kube
--control-plane`) and the syncer. One member cluster is registered (only its server URL
matters; nothing talks to it). Then:

1. **Cold**: `--workspaces` workspaces, each with `--namespaces` bound namespaces, are
   created straight through the SDK (`--concurrency` calls in flight) while no syncer runs;
   then the syncer starts. Reported: the time from starting the syncer process until every
   workspace has its AppProject with exactly its destinations and its labelled OAM
   namespace (process start, lease, lists, reconciles and writes all included). This is
   what a new leader faces, and "created at once" in its purest form.
2. **Live**: `--live` more workspaces are created while the syncer runs, so the change
   stream carries them. Reported: the time after the last create until all is correct.
   (Creating through the SDK is itself the slower part here: each create and bind is a
   devops-server transaction.)
3. **Rest**: with nothing changing, over `--steady` seconds (the syncer resyncing every
   `--resync` seconds meanwhile): the syncer process's CPU time (user + system, from
   `/proc`), the writes it made (its `workbench_syncer_repairs_total`) and its reconciles,
   per minute.

Correctness is checked by listing the AppProjects and labelled namespaces every 0.25 s
(so a figure may be up to that much late).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from cryptography.fernet import Fernet
from kubernetes_asyncio import client
from kubernetes_asyncio import config as kube_config
from workbench_sdk.devops.v1 import tenancy_pb2 as pb

from libs.devops_client import DevopsClient
from sandbox.ports import free_port

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MEMBER_SERVER = "https://member-1.bench.invalid:6443"
MEMBER_KUBECONFIG = f"""apiVersion: v1
kind: Config
clusters: [{{name: member-1, cluster: {{server: "{MEMBER_SERVER}"}}}}]
users: [{{name: admin, user: {{token: bench}}}}]
contexts: [{{name: member-1, context: {{cluster: member-1, user: admin}}}}]
current-context: member-1
"""
LABEL = "workbench.io/workspace"
# Listing a thousand AppProjects costs the stand-in real CPU, which the syncer also needs.
POLL = 0.25


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_until(check: Any, what: str, seconds: float = 60, *, every: float = 0.1) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if await check():
                return
        await asyncio.sleep(every)
    raise RuntimeError(f"{what} did not happen within {seconds}s")


async def syncer_metric(http: httpx.AsyncClient, name: str) -> float:
    """The sum of every sample of one metric on the syncer's /metrics."""
    total = 0.0
    for line in (await http.get("/metrics")).text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def create_burst(
    sdk: DevopsClient, workspaces: int, namespaces: int, concurrency: int, *, first: int
) -> dict[int, set[str]]:
    """Create the workspaces and their bindings; returns workspace id -> namespaces."""
    expected: dict[int, set[str]] = {}
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        async with gate:
            request = pb.CreateWorkspaceRequest(alias=f"bench-{index}")
            created = await sdk.call(sdk.tenancy.CreateWorkspace, request)
            bound = {f"ws{created.id}-ns{n}" for n in range(namespaces)}
            for namespace in sorted(bound):
                binding = pb.Binding(
                    workspace_id=created.id, cluster="member-1", namespace=namespace
                )
                await sdk.call(sdk.tenancy.BindNamespace, binding)
            expected[created.id] = bound

    await asyncio.gather(*(one(first + index) for index in range(workspaces)))
    return expected


async def converged(api: client.ApiClient, expected: dict[int, set[str]]) -> bool:
    custom = client.CustomObjectsApi(api)
    core = client.CoreV1Api(api)
    projects = await custom.list_namespaced_custom_object(
        "argoproj.io", "v1alpha1", "argocd", "appprojects", label_selector=LABEL
    )
    found: dict[int, set[str]] = {}
    for item in projects["items"]:
        workspace = int(item["metadata"]["labels"][LABEL])
        destinations = item["spec"].get("destinations") or []
        if all(entry["server"] == MEMBER_SERVER for entry in destinations):
            found[workspace] = {entry["namespace"] for entry in destinations}
    if found != expected:
        return False

    namespaces = await core.list_namespace(label_selector=LABEL)
    labelled = {int(item.metadata.labels[LABEL]) for item in namespaces.items}
    return labelled == set(expected)


async def main(args: argparse.Namespace) -> None:
    database = f"wb_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(SERVER)
    await admin.execute(f'CREATE DATABASE "{database}"')
    state = Path(tempfile.mkdtemp(prefix="workbench-bench-syncer-"))
    kubeconfig = state / "control-plane.yaml"
    ports = {name: free_port() for name in ("devops", "devops_http", "syncer", "kube")}
    token = uuid.uuid4().hex
    env = {
        **os.environ,
        "WORKBENCH_DATABASE_URL": SERVER.rsplit("/", 1)[0] + f"/{database}",
        "WORKBENCH_INTERNAL_TOKEN": token,
        "WORKBENCH_JWT_SECRET": uuid.uuid4().hex,
        "WORKBENCH_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "WORKBENCH_DEVOPS_GRPC_PORT": str(ports["devops"]),
        "WORKBENCH_DEVOPS_HTTP_PORT": str(ports["devops_http"]),
        "WORKBENCH_DEVOPS_ADDRESS": f"127.0.0.1:{ports['devops']}",
        "WORKBENCH_SYNCER_HTTP_PORT": str(ports["syncer"]),
        "WORKBENCH_SYNCER_RESYNC_SECONDS": str(args.resync),
        "WORKBENCH_CONTROL_PLANE_KUBECONFIG": str(kubeconfig),
        "WORKBENCH_LOG_LEVEL": "WARNING",
        "WORKBENCH_LOG_FORMAT": "text",
        "WORKBENCH_STATE_DIR": str(state),
    }
    logs = os.open(state / "processes.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    kube = [
        "sandbox.kube",
        "--name=control-plane",
        "--control-plane",
        f"--port={ports['kube']}",
        f"--kubeconfig={kubeconfig}",
        "--log-level=WARNING",
    ]
    children: list[asyncio.subprocess.Process] = []

    async def start(*module: str) -> asyncio.subprocess.Process:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", *module, env=env, stdout=logs, stderr=logs
        )
        children.append(child)
        return child

    try:
        await start(*kube)
        await wait_until(lambda: asyncio.sleep(0, kubeconfig.exists()), "kubeconfig")
        await start("services.devops_server")
        sdk = DevopsClient(f"127.0.0.1:{ports['devops']}", token)
        http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['syncer']}")
        api = await kube_config.new_client_from_config(config_file=str(kubeconfig))
        request = pb.RegisterClusterRequest(name="member-1", kubeconfig=MEMBER_KUBECONFIG)
        await wait_until(lambda: sdk.call(sdk.tenancy.RegisterCluster, request), "devops-server up")

        # 1. A burst created while no syncer runs, then the syncer started: its whole
        #    convergence, from process start to every object correct.
        began = time.monotonic()
        expected = await create_burst(
            sdk, args.workspaces, args.namespaces, args.concurrency, first=0
        )
        created = time.monotonic()
        kube_cpu = cpu_seconds(children[0].pid)
        syncer = await start("services.syncer")

        async def answers() -> bool:
            return (await http.get("/healthz")).status_code == 200

        await wait_until(answers, "syncer HTTP", every=0.02)
        serving = time.monotonic()
        await wait_until(lambda: converged(api, expected), "convergence", args.timeout, every=POLL)
        done = time.monotonic()
        print(
            f"cold: {args.workspaces} workspaces x {args.namespaces} bound namespaces "
            f"(created through the SDK in {created - began:.1f}s, no syncer running); "
            f"syncer started -> every AppProject and OAM namespace correct in "
            f"{done - created:.2f}s, {done - serving:.2f}s of it after the process was up "
            f"(CPU meanwhile: syncer {cpu_seconds(syncer.pid):.2f}s, "
            f"control-plane stand-in {cpu_seconds(children[0].pid) - kube_cpu:.2f}s)"
        )

        # 2. A burst created while the syncer runs: the change stream's path.
        began = time.monotonic()
        expected |= await create_burst(
            sdk, args.live, args.namespaces, args.concurrency, first=args.workspaces
        )
        created = time.monotonic()
        await wait_until(lambda: converged(api, expected), "convergence", args.timeout, every=POLL)
        done = time.monotonic()
        print(
            f"live: {args.live} more workspaces created through the SDK in "
            f"{created - began:.1f}s while the syncer runs; all correct "
            f"{done - began:.2f}s after the first create, {done - created:.2f}s after the last"
        )

        # 2. At rest.
        await asyncio.sleep(3)  # the watch events of the last writes come back
        writes = await syncer_metric(http, "workbench_syncer_repairs_total")
        reconciles = await syncer_metric(http, "workbench_controller_reconciles_total")
        cpu = cpu_seconds(syncer.pid)
        await asyncio.sleep(args.steady)
        per_minute = 60 / args.steady
        writes = (await syncer_metric(http, "workbench_syncer_repairs_total") - writes) * per_minute
        reconciles = (
            await syncer_metric(http, "workbench_controller_reconciles_total") - reconciles
        ) * per_minute
        cpu = (cpu_seconds(syncer.pid) - cpu) * per_minute
        print(
            f"at rest over {args.steady:.0f}s, resync every {args.resync:.0f}s: "
            f"{writes:.0f} writes/min, {reconciles:.0f} reconciles/min, "
            f"syncer CPU {cpu:.2f}s/min"
        )

        await api.close()
        await http.aclose()
        await sdk.close()
    finally:
        for child in reversed(children):  # the syncer first, so it can release its lease
            child.terminate()
            await child.wait()
        os.close(logs)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.syncer")
    parser.add_argument("--workspaces", type=int, default=1000)
    parser.add_argument("--namespaces", type=int, default=3)
    parser.add_argument("--live", type=int, default=100, help="workspaces added while running")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--steady", type=float, default=60.0, help="seconds measured at rest")
    parser.add_argument("--resync", type=float, default=10.0, help="the syncer's resync period")
    parser.add_argument("--timeout", type=float, default=120.0)
    asyncio.run(main(parser.parse_args()))
