"""`python -m bench.runs`: reading runs at scale, and how soon a run asked for is readable.

Starts devops-server, apiserver and a Jenkins stand-in as their own processes on free ports,
against a fresh database on `BENCH_DATABASE_URL` (default: the local server at
127.0.0.1:5432). Loads 1,000,000 runs across 10,000 pipelines in 50 workspaces with
`generate_series` (100 runs a pipeline, finished), then measures over REST, one caller:

- `Pipelines/ListPipelineRuns`, a page of 50 of a random pipeline (pages 1 and 2 alternate,
  so half the reads also count the pipeline's runs): p50 and p99 (target p99 < 30 ms);
- trigger-to-QUEUE: from sending `:run` until a second request reads the run in state QUEUE,
  and the `:run` answer alone. The pipeline's job exists in the stand-in and the dispatcher
  starts every run in it meanwhile, as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid

import asyncpg
import grpc
from amamba.pipeline.v1alpha1 import pipelines_pb2 as api
from cryptography.fernet import Fernet
from workbench_sdk.devops.v1 import runs_pb2_grpc

from bench.transcoding.harness import _KeepAliveClient
from libs.auth.tokens import mint
from libs.jenkins import JenkinsClient
from sandbox.ports import free_port

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PIPELINES = "/apis/pipeline.amamba.io/v1alpha1/workspaces/{}/pipelines/{}"
SCRIPT = (
    "pipeline {\n  agent any\n  stages {\n    stage('Build') {\n      steps {\n"
    "        echo 'hi'\n      }\n    }\n  }\n}\n"
)
JOB_XML = (
    "<?xml version='1.1' encoding='UTF-8'?>\n<flow-definition plugin=\"workflow-job\">"
    "<actions/><description></description><properties/>"
    '<definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" '
    f'plugin="workflow-cps"><script>{SCRIPT}</script><sandbox>true</sandbox></definition>'
    "<triggers/><disabled>false</disabled></flow-definition>"
)

# $1 finished runs of every pipeline, numbered from 1, a minute apart, every fifth one failed.
RUNS = (
    "INSERT INTO runs (pipeline_id, workspace_id, seq, jenkins, queue_id, build_number, state,"
    " trigger_type, started_by, parameters, description, created_at, updated_at, started_at,"
    " finished_at, duration_ms)"
    " SELECT p.id, p.workspace_id, s, 'jenkins-a', s, s,"
    " CASE WHEN s % 5 = 0 THEN 'FAILED' ELSE 'SUCCESS' END, 'MANUAL', 'bench',"
    " '[]'::jsonb, '', t.at, t.at, t.at, t.at + interval '1 minute', 60000"
    " FROM pipelines p CROSS JOIN generate_series(1, $1::integer) s"
    " CROSS JOIN LATERAL (SELECT now() - make_interval(mins => $1::integer - s) AS at) t"
)

LOAD = [
    "INSERT INTO workspaces (id, alias) SELECT g, 'bench-' || g FROM generate_series(1, 50) g",
    "SELECT setval(pg_get_serial_sequence('workspaces', 'id'), 50)",
    "INSERT INTO pipelines (workspace_id, name, type, spec, jenkinsfile, disabled, generation,"
    " synced_generation, sync_error, last_run_seq, last_run_state, last_run_at, total_runs,"
    " total_successes, weather)"
    " SELECT 1 + (g - 1) % 50, 'pipe-' || g, 'CUSTOM', '{\"parameters\": []}', '', false, 1, 1,"
    " '', 100, 'SUCCESS', now(), 100, 80, 'PARTIALLY' FROM generate_series(1, 10000) g",
    RUNS.replace("$1", "100"),
    "ANALYZE",
]


async def wait_for_port(port: int, seconds: float = 60) -> None:
    for _ in range(int(seconds * 10)):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def request(method: str, path: str, port: int, token: str, body: bytes = b"") -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Authorization: Bearer {token}",
    ]
    if method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def line(name: str, latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{name:<48} n={len(ordered):<6} p50={statistics.median(ordered) * 1e3:7.2f} ms  "
        f"p99={p99 * 1e3:7.2f} ms"
    )


async def load(url: str) -> float:
    connection = await asyncpg.connect(url)
    started = time.perf_counter()
    try:
        for statement in LOAD:
            await connection.execute(statement)
    finally:
        await connection.close()
    return time.perf_counter() - started


async def list_runs(port: int, token: str, requests: int) -> list[float]:
    latencies = []
    async with _KeepAliveClient("127.0.0.1", port) as client:
        for index in range(requests + 200):
            number = random.randint(1, 10000)
            workspace = 1 + (number - 1) % 50
            path = PIPELINES.format(workspace, f"pipe-{number}")
            query = f"/runs?page={1 + index % 2}&pageSize=50"
            raw = request("GET", path + query, port, token)
            started = time.perf_counter()
            status, body = await client.get(raw)
            elapsed = time.perf_counter() - started
            if status != 200 or len(json.loads(body)["items"]) != 50:
                raise RuntimeError(f"listing answered {status}: {body[:200]!r}")
            if index >= 200:  # the first ones warm up
                latencies.append(elapsed)
    return latencies


async def list_sdk(port: int, internal_token: str, requests: int) -> list[float]:
    """The devops-server side alone: `Runs/ListRuns` over its internal gRPC SDK."""
    latencies = []
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = runs_pb2_grpc.RunsStub(channel)
        metadata = (("authorization", f"Bearer {internal_token}"),)
        for index in range(requests + 200):
            number = random.randint(1, 10000)
            ask = api.ListPipelineRunsRequest(
                workspace_id=str(1 + (number - 1) % 50),
                name=f"pipe-{number}",
                page=1 + index % 2,
                page_size=50,
            )
            started = time.perf_counter()
            await stub.ListRuns(ask, metadata=metadata)
            if index >= 200:
                latencies.append(time.perf_counter() - started)
    return latencies


async def trigger(port: int, token: str, requests: int) -> tuple[list[float], list[float]]:
    answered, readable = [], []
    path = PIPELINES.format(1, "bench-run")
    async with (
        _KeepAliveClient("127.0.0.1", port) as runs,
        _KeepAliveClient("127.0.0.1", port) as reads,
    ):
        for _ in range(requests):
            started = time.perf_counter()
            status, body = await runs.get(request("POST", path + ":run", port, token, b"{}"))
            answered.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f":run answered {status}: {body[:200]!r}")
            run_id = json.loads(body)["runId"]
            while True:
                status, body = await reads.get(request("GET", f"{path}/runs/{run_id}", port, token))
                if status == 200 and json.loads(body)["state"] in ("QUEUE", "RUNNING", "SUCCESS"):
                    break
            readable.append(time.perf_counter() - started)
    return answered, readable


async def main(lists: int, triggers: int) -> None:
    database = f"wb_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(SERVER)
    await admin.execute(f'CREATE DATABASE "{database}"')
    url = SERVER.rsplit("/", 1)[0] + f"/{database}"
    secret = Fernet.generate_key().decode()
    jenkins_token = uuid.uuid4().hex
    ports = {name: free_port() for name in ("rest", "grpc", "devops", "devops_http", "jenkins")}
    env = {
        **os.environ,
        "WORKBENCH_DATABASE_URL": url,
        "WORKBENCH_JWT_SECRET": secret,
        "WORKBENCH_INTERNAL_TOKEN": uuid.uuid4().hex,
        "WORKBENCH_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "WORKBENCH_APISERVER_HTTP_PORT": str(ports["rest"]),
        "WORKBENCH_APISERVER_GRPC_PORT": str(ports["grpc"]),
        "WORKBENCH_DEVOPS_GRPC_PORT": str(ports["devops"]),
        "WORKBENCH_DEVOPS_HTTP_PORT": str(ports["devops_http"]),
        "WORKBENCH_DEVOPS_ADDRESS": f"127.0.0.1:{ports['devops']}",
        "WORKBENCH_LOG_LEVEL": "WARNING",
        "WORKBENCH_PLATFORM_ADMINS": '["admin"]',
        "WORKBENCH_STATE_DIR": tempfile.mkdtemp(prefix="workbench-bench-"),
    }
    jenkins_args = ["--port", str(ports["jenkins"]), "--token", jenkins_token]
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "sandbox.jenkins",
            *jenkins_args,
            "--time-scale",
            "100",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        ),
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.devops_server", env=env
        ),
    ]
    try:
        await wait_for_port(ports["devops"])
        seconds = await load(url)
        print(f"loaded 50 workspaces, 10,000 pipelines, 1,000,000 runs in {seconds:.1f} s")
        children.append(
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "services.apiserver", env=env
            )
        )
        await wait_for_port(ports["rest"])
        await wait_for_port(ports["jenkins"])
        token = mint("admin", secret)
        await setup_jenkins(ports, token, jenkins_token, url)

        print(
            line(
                "ListPipelineRuns, page of 50 (pages 1 and 2)",
                await list_runs(ports["rest"], token, lists),
            )
        )
        print(
            line(
                "the same through devops-server's SDK (gRPC)",
                await list_sdk(ports["devops"], env["WORKBENCH_INTERNAL_TOKEN"], lists),
            )
        )
        answered, readable = await trigger(ports["rest"], token, triggers)
        print(line(":run answered (run stored in QUEUE)", answered))
        print(line("trigger-to-QUEUE (:run, then read by another call)", readable))
    finally:
        for child in children:
            child.terminate()
        for child in children:
            await child.wait()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


async def setup_jenkins(ports: dict[str, int], token: str, jenkins_token: str, url: str) -> None:
    """Register the stand-in and give workspace 1 the pipeline `bench-run` and its job."""
    address = f"http://127.0.0.1:{ports['jenkins']}/"
    body = json.dumps(
        {
            "name": "jenkins-a",
            "default": True,
            "config": {"address": address, "username": "admin", "password": jenkins_token},
        }
    ).encode()
    async with _KeepAliveClient("127.0.0.1", ports["rest"]) as client:
        status, answer = await client.get(
            request(
                "POST",
                "/apis/pipeline.amamba.io/v1alpha1/management/jenkins",
                ports["rest"],
                token,
                body,
            )
        )
    if status != 200:
        raise RuntimeError(f"registering the stand-in answered {status}: {answer[:200]!r}")
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "INSERT INTO pipelines (workspace_id, name, type, spec, jenkinsfile, disabled,"
            " generation, synced_generation, sync_error, last_run_seq, last_run_state,"
            " total_runs, total_successes, weather) VALUES (1, 'bench-run', 'CUSTOM',"
            " '{\"parameters\": []}', '', false, 1, 1, '', 0, '', 0, 0, '')"
        )
    finally:
        await connection.close()
    async with JenkinsClient(address, "admin", jenkins_token) as jenkins:
        await jenkins.ensure_folder("1")
        await jenkins.create_or_update_job(("1", "bench-run"), JOB_XML)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.runs")
    parser.add_argument("--lists", type=int, default=3000)
    parser.add_argument("--triggers", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.lists, args.triggers))
