"""The whole event chain under faults: devops-server restarted and unreachable, event-proxy
restarted, in the middle of a stream of builds. Afterwards every run's state matches Jenkins
and every event was applied exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from libs.jenkins import JenkinsClient
from sandbox.jenkins import JenkinsStandIn
from services.devops_server.app import DevopsServer
from services.event_proxy.app import EventProxy
from services.event_proxy.settings import EventProxySettings
from tests.conftest import free_port, stack_settings
from tests.events.conftest import WEBHOOK
from tests.events.test_receiver import CONFIG

BUILDS_PER_PIPELINE = 3
PIPELINES = ("alpha", "beta", "gamma")


async def fetch(url: str, sql: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


def proxy_for(devops_http: int, token: str, port: int, outbox: Path) -> EventProxy:
    return EventProxy(
        EventProxySettings(
            port=port,
            outbox_dir=outbox,
            target_url=f"http://127.0.0.1:{devops_http}{WEBHOOK}",
            token=token,
            instance="jenkins-a",
            retry_base=0.05,
            retry_max=0.5,
        )
    )


async def test_runs_match_jenkins_after_restarts_and_an_outage(
    database_url: str, tmp_path: Path
) -> None:
    settings = stack_settings(database_url)
    assert settings.internal_token
    devops = DevopsServer(settings)
    await devops.start()
    jenkins = JenkinsStandIn(time_scale=100.0)
    await jenkins.start()
    await devops.instances.register(
        "jenkins-a", jenkins.url, jenkins.admin_user, jenkins.api_token, default=True, options={}
    )
    workspace = await fetch(
        database_url, "INSERT INTO workspaces (alias) VALUES ('a') RETURNING id"
    )
    workspace_id = workspace[0]["id"]
    connection = await asyncpg.connect(database_url)
    await connection.executemany(
        "INSERT INTO pipelines (workspace_id, name, type, spec, jenkinsfile, disabled, generation,"
        " synced_generation, sync_error, last_run_seq, last_run_state, total_runs,"
        " total_successes, weather)"
        " VALUES ($1, $2, 'CUSTOM', '{}'::jsonb, '', false, 1, 1, '', 0, '', 0, 0, '')",
        [(workspace_id, name) for name in PIPELINES],
    )
    await connection.close()

    proxy_port = free_port()
    proxy = proxy_for(devops.http_port, settings.internal_token, proxy_port, tmp_path / "outbox")
    await proxy.start()
    jenkins.receiver = f"http://127.0.0.1:{proxy_port}/event"
    client = JenkinsClient(jenkins.url, jenkins.admin_user, jenkins.api_token)
    try:
        await client.ensure_folder(str(workspace_id))
        for name in PIPELINES:
            await client.create_or_update_job(f"{workspace_id}/{name}", CONFIG)

        async def build_round() -> None:
            for name in PIPELINES:
                await client.build(f"{workspace_id}/{name}")
            await asyncio.sleep(0.3)

        # Round 1 with everything up; then devops-server stops (an outage the proxy rides out).
        await build_round()
        await devops.stop()
        await build_round()
        # event-proxy restarts while devops-server is still down, then devops-server returns.
        await proxy.stop()
        proxy = proxy_for(
            settings.devops_http_port, settings.internal_token, proxy_port, tmp_path / "outbox"
        )
        await proxy.start()
        devops = DevopsServer(settings)
        await devops.start()
        await build_round()

        for name in PIPELINES:
            await jenkins.wait_for_run(f"{workspace_id}/{name}", BUILDS_PER_PIPELINE)
        await jenkins.drain_events()
        expected = {
            e["id"] for e in jenkins.events_sent if str(e.get("type", "")).startswith("run.")
        }
        assert len(expected) == 4 * BUILDS_PER_PIPELINE * len(PIPELINES)

        applied: set[str] = set()
        for _ in range(300):
            rows = await fetch(database_url, "SELECT id FROM jenkins_events")
            applied = {r["id"] for r in rows}
            if expected <= applied:
                break
            await asyncio.sleep(0.05)
        runs = await fetch(
            database_url,
            "SELECT p.name, r.build_number, r.state FROM runs r JOIN pipelines p"
            " ON p.id = r.pipeline_id ORDER BY p.name, r.build_number",
        )
    finally:
        await client.aclose()
        await proxy.stop()
        await devops.stop()
        await jenkins.stop()

    assert expected <= applied
    assert [(r["name"], r["build_number"], r["state"]) for r in runs] == [
        (name, number, "SUCCESS")
        for name in sorted(PIPELINES)
        for number in range(1, BUILDS_PER_PIPELINE + 1)
    ]
