"""`python -m bench.pipelines`: one page of a workspace's pipelines, sorted by last run time.

Starts devops-server and apiserver as their own processes on free ports, against a fresh
database on `BENCH_DATABASE_URL` (default: the local server at 127.0.0.1:5432). Once the
schema is migrated, 10,000 pipelines across 50 workspaces are bulk-inserted straight into
PostgreSQL (COPY), with run summaries as the run side would keep them: most have run (a last
run time within the last 30 days, a last state, totals and weather), some never have, some
are disabled; every row is marked in sync so the sync loop has nothing to push; then
1,000,000 finished runs (`--runs`, spread evenly, with `generate_series`). A member of
every workspace then lists page 1 of 50 pipelines sorted by last run time over REST on
loopback, one request at a time, through the whole chain (token, rule table with the
membership lookup, devops-server call, the list query): p50 and p99 against the 30 ms target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc
from amamba.pipeline.v1alpha1 import pipelines_pb2 as api
from amamba.types import types_pb2
from cryptography.fernet import Fernet
from workbench_sdk.devops.v1 import pipelines_pb2_grpc

from bench.apiserver.__main__ import free_port, wait_for_port
from bench.runs.__main__ import RUNS
from bench.transcoding.harness import measure_grpc, measure_rest
from libs.auth.tokens import mint
from libs.rpc.internal import call_metadata

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
WORKSPACES = 50
PIPELINES = 10_000
STATES = ["SUCCESS"] * 6 + ["FAILED"] * 2 + ["ABORTED", "UNSTABLE", "RUNNING"]
STATE_NAMES = {"ABORTED": "CANCELED"}
WEATHERS = ["SUNNY", "PARTIALLY", "CLOUDY", "RAINING", "STORM"]
USER = "bench-user"
TARGET_P99_MS = 30.0


def pipeline_rows(now: datetime, rng: random.Random) -> list[tuple[Any, ...]]:
    """Rows for the `pipelines` table, spread evenly over the workspaces."""
    rows = []
    spec = json.dumps(
        {
            "type": "PIPELINE_TYPE_CUSTOM",
            "description": "builds and pushes the image",
            "parameters": [
                {"name": "TARGET", "type": "PARAMETER_TYPE_STRING", "defaultValue": "dev"},
                {"name": "DRY_RUN", "type": "PARAMETER_TYPE_BOOLEAN", "defaultValue": "false"},
            ],
            "buildConfig": {"discarderProperty": {"numToRetainValue": 20}},
        }
    )

    for index in range(PIPELINES):
        workspace_id = index % WORKSPACES + 1
        created = now - timedelta(days=rng.uniform(30, 365))
        ran = rng.random() < 0.9
        total = rng.randint(1, 500) if ran else 0
        successes = int(total * rng.uniform(0.3, 1.0))
        state = STATE_NAMES.get(s := rng.choice(STATES), s) if ran else ""
        rows.append(
            (
                workspace_id,
                f"pipeline-{index:05d}",
                "CUSTOM",
                spec,
                "pipeline { agent any; stages { stage('b') { steps { sh 'make' } } } }",
                rng.random() < 0.05,
                created,
                created,
                2,
                2,
                "",
                created,
                f"pipeline-{index:05d}",
                total,
                state,
                now - timedelta(seconds=rng.uniform(0, 30 * 86400)) if ran else None,
                total,
                successes,
                rng.choice(WEATHERS) if ran else "",
            )
        )
    return rows


COLUMNS = [
    "workspace_id",
    "name",
    "type",
    "spec",
    "jenkinsfile",
    "disabled",
    "created_at",
    "updated_at",
    "generation",
    "synced_generation",
    "sync_error",
    "synced_at",
    "jenkins_name",
    "last_run_seq",
    "last_run_state",
    "last_run_at",
    "total_runs",
    "total_successes",
    "weather",
]


async def seed(url: str, runs: int) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.copy_records_to_table(
            "workspaces",
            records=[(i, f"ws-{i}") for i in range(1, WORKSPACES + 1)],
            columns=["id", "alias"],
        )
        await connection.execute(
            "SELECT setval(pg_get_serial_sequence('workspaces', 'id'), $1)", WORKSPACES
        )
        await connection.copy_records_to_table(
            "members",
            records=[(i, USER, "workspace-admin") for i in range(1, WORKSPACES + 1)],
            columns=["workspace_id", "username", "role"],
        )
        rows = pipeline_rows(datetime.now(UTC), random.Random(7))
        await connection.copy_records_to_table("pipelines", records=rows, columns=COLUMNS)
        if runs:
            await connection.execute(RUNS, runs // PIPELINES)
        await connection.execute("VACUUM ANALYZE pipelines")
        await connection.execute("VACUUM ANALYZE runs")
    finally:
        await connection.close()


async def main(requests: int, runs: int) -> None:
    database = f"wb_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(SERVER)
    await admin.execute(f'CREATE DATABASE "{database}"')
    url = SERVER.rsplit("/", 1)[0] + f"/{database}"
    secret = Fernet.generate_key().decode()
    internal = uuid.uuid4().hex
    ports = {name: free_port() for name in ("rest", "grpc", "devops", "devops_http")}
    env = {
        **os.environ,
        "WORKBENCH_DATABASE_URL": url,
        "WORKBENCH_JWT_SECRET": secret,
        "WORKBENCH_INTERNAL_TOKEN": internal,
        "WORKBENCH_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "WORKBENCH_APISERVER_HTTP_PORT": str(ports["rest"]),
        "WORKBENCH_APISERVER_GRPC_PORT": str(ports["grpc"]),
        "WORKBENCH_DEVOPS_GRPC_PORT": str(ports["devops"]),
        "WORKBENCH_DEVOPS_HTTP_PORT": str(ports["devops_http"]),
        "WORKBENCH_DEVOPS_ADDRESS": f"127.0.0.1:{ports['devops']}",
        "WORKBENCH_LOG_LEVEL": "WARNING",
        "WORKBENCH_STATE_DIR": tempfile.mkdtemp(prefix="workbench-bench-"),
    }
    children = [
        await asyncio.create_subprocess_exec(sys.executable, "-m", module, env=env)
        for module in ("services.devops_server", "services.apiserver")
    ]
    try:
        await wait_for_port(ports["devops"])
        await wait_for_port(ports["rest"])
        await seed(url, runs)
        headers = {"Authorization": f"Bearer {mint(USER, secret)}"}
        workspace = WORKSPACES // 2
        path = (
            f"/apis/pipeline.amamba.io/v1alpha1/workspaces/{workspace}/pipelines"
            "?page=1&pageSize=50&sortBy=PIPELINE_LAST_RUN_TIME"
        )
        stats = await measure_rest(
            "127.0.0.1", ports["rest"], path, headers=headers, requests=requests
        )
        async with grpc.aio.insecure_channel(f"127.0.0.1:{ports['devops']}") as channel:
            stub = pipelines_pb2_grpc.PipelineDefinitionsStub(channel)
            request = api.ListPipelinesRequest(
                workspace_id=str(workspace),
                page=1,
                page_size=50,
                sort_by=types_pb2.PIPELINE_LAST_RUN_TIME,
            )
            metadata = call_metadata(internal, USER)
            sdk = await measure_grpc(
                lambda: stub.ListPipelines(request, metadata=metadata), requests=requests
            )
        verdict = "within" if stats.p99_ms < TARGET_P99_MS else "OVER"
        print(
            f"ListPipelines, page 1 of 50 sorted by last run time, {PIPELINES} pipelines in "
            f"{WORKSPACES} workspaces with {runs} runs, {requests} requests, one at a time"
        )
        print(stats.line(), " <- apiserver REST, the whole chain")
        print(sdk.line().replace("gRPC  ", "SDK   "), " <- devops-server's SDK call alone")
        print(f"REST p99 {stats.p99_ms:.1f} ms: {verdict} the {TARGET_P99_MS:.0f} ms target")
    finally:
        for child in children:
            child.terminate()
        for child in children:
            await child.wait()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.pipelines")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=1_000_000, help="runs in the database")
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.runs))
