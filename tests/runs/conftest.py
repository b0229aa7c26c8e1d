"""Runs over REST against the Jenkins stand-in.

One stack (real devops-server and apiserver, as `tests/apiserver`'s `stack` fixture builds it,
on a fresh database) and one Jenkins stand-in (100x virtual time, registered as the default
instance) serve every test of a module, which keeps this folder fast; `ci` gives each test a
workspace of its own, so tests never see each other's pipelines or runs, and puts the
dispatcher and the stand-in back to normal after each test. Pipelines are made through the
pipelines service's REST API, which also creates their Jenkins jobs (`<workspaceId>/<name>`);
`ci.seed_row` inserts a pipeline's row alone (a pipeline Jenkins does not know).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from tests.apiserver.conftest import Stack, running
from tests.conftest import drop_database, new_database, stack_settings

PIPELINES = "/apis/pipeline.amamba.io/v1alpha1/workspaces/{}/pipelines"
FINAL = ("SUCCESS", "FAILED", "CANCELED", "ERROR", "NOT_BUILT", "UNKNOWN", "UNSTABLE")


def declarative(*stages: tuple[str, str]) -> str:
    """`pipeline { agent any; stages { stage(name) { steps { ... } } ... } }`."""
    body = "\n".join(
        f"    stage('{name}') {{\n      steps {{\n        {steps}\n      }}\n    }}"
        for name, steps in stages
    )
    return f"pipeline {{\n  agent any\n  stages {{\n{body}\n  }}\n}}\n"


@dataclass
class CI:
    stack: Stack
    jenkins: Any
    workspace_id: int

    @property
    def http(self) -> Any:
        return self.stack.http

    def url(self, pipeline: str, suffix: str = "", workspace_id: int | None = None) -> str:
        base = PIPELINES.format(workspace_id or self.workspace_id)
        return f"{base}/{pipeline}{suffix}"

    async def pipeline(
        self,
        name: str,
        script: str,
        parameters: list[dict[str, Any]] | None = None,
        *,
        job: bool = True,
    ) -> None:
        """A pipeline made through the REST API (CreatePipeline, then its Jenkinsfile), which
        creates its Jenkins job; with `job` false, only its row, as if Jenkins had lost it."""
        if not job:
            await self.seed_row(name, script, parameters or [])
            return
        headers = self.stack.auth("admin")
        body = {"name": name, "type": "PIPELINE_TYPE_CUSTOM", "parameters": parameters or []}
        made = await self.http.post(PIPELINES.format(self.workspace_id), json=body, headers=headers)
        assert made.status_code == 200, made.text
        put = await self.http.put(
            self.url(name, "/jenkinsfile"), json={"jenkinsfile": script}, headers=headers
        )
        assert put.status_code == 200, put.text

    async def seed_row(self, name: str, script: str, definitions: list[dict[str, Any]]) -> None:
        spec = {"workspaceId": str(self.workspace_id), "name": name, "parameters": definitions}
        assert self.stack.settings.database_url
        connection = await asyncpg.connect(self.stack.settings.database_url)
        try:
            await connection.execute(
                "INSERT INTO pipelines (workspace_id, name, type, spec, jenkinsfile, disabled,"
                " generation, synced_generation, sync_error, last_run_seq, last_run_state,"
                " total_runs, total_successes, weather)"
                " VALUES ($1, $2, 'CUSTOM', $3::jsonb, $4, false, 1, 1, '', 0, '', 0, 0, '')",
                self.workspace_id,
                name,
                json.dumps(spec),
                script,
            )
        finally:
            await connection.close()

    async def fetch_row(self, query: str, *args: Any) -> dict[str, Any]:
        """One row straight from the stack's database (it must exist)."""
        assert self.stack.settings.database_url
        connection = await asyncpg.connect(self.stack.settings.database_url)
        try:
            row = await connection.fetchrow(query, *args)
        finally:
            await connection.close()
        assert row is not None, "no such row"
        return dict(row)

    async def run(
        self, pipeline: str, parameters: dict[str, str] | None = None, user: str = "admin"
    ) -> Any:
        body = {"parameters": [{"name": k, "value": v} for k, v in (parameters or {}).items()]}
        return await self.http.post(
            self.url(pipeline, ":run"), json=body, headers=self.stack.auth(user)
        )

    async def started(self, pipeline: str, parameters: dict[str, str] | None = None) -> str:
        answer = await self.run(pipeline, parameters)
        assert answer.status_code == 200, answer.text
        run_id: str = answer.json()["runId"]
        return run_id

    async def get(self, pipeline: str, suffix: str = "", user: str = "admin", **query: Any) -> Any:
        return await self.http.get(
            self.url(pipeline, suffix), params=query, headers=self.stack.auth(user)
        )

    async def post(self, pipeline: str, suffix: str, user: str = "admin") -> Any:
        return await self.http.post(
            self.url(pipeline, suffix), json={}, headers=self.stack.auth(user)
        )

    async def wait(
        self, pipeline: str, run_id: str, wanted: tuple[str, ...] = FINAL, within: float = 15
    ) -> dict[str, Any]:
        """The run once its state is one of `wanted` (reads refresh it from Jenkins)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            answer = await self.get(pipeline, f"/runs/{run_id}")
            assert answer.status_code == 200, answer.text
            run: dict[str, Any] = answer.json()
            if run["state"] in wanted:
                return run
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"run {run_id} stayed {run['state']}, wanted {wanted}")
            await asyncio.sleep(0.05)


async def make_workspace(stack: Stack, alias: str) -> int:
    made = await stack.http.post(
        "/apis/amamba.io/v1alpha1/management/workspaces",
        json={"alias": alias},
        headers=stack.auth("admin"),
    )
    assert made.status_code == 200, made.text
    workspace_id: int = made.json()["workspaceId"]
    return workspace_id


@pytest.fixture(scope="module")
async def runs_stack(server_url: str, template_database: str) -> AsyncIterator[Stack]:
    url = await new_database(server_url, template_database)
    async with running(stack_settings(url)) as started:
        yield started
    await drop_database(server_url, url)


@pytest.fixture(scope="module")
async def runs_jenkins(runs_stack: Stack) -> AsyncIterator[Any]:
    from sandbox.jenkins import JenkinsStandIn

    standin = JenkinsStandIn(time_scale=100.0)
    await standin.start()
    registered = await runs_stack.http.post(
        "/apis/pipeline.amamba.io/v1alpha1/management/jenkins",
        json={
            "name": "jenkins-a",
            "default": True,
            "config": {
                "address": standin.url,
                "username": standin.admin_user,
                "password": standin.api_token,
            },
        },
        headers=runs_stack.auth("admin"),
    )
    assert registered.status_code == 200, registered.text
    yield standin
    await standin.stop()


@pytest.fixture
async def ci(runs_stack: Stack, runs_jenkins: Any) -> AsyncIterator[CI]:
    dispatcher = runs_stack.devops.dispatcher
    dispatcher.interval, dispatcher.give_up_after = 0.1, 600.0
    dispatcher.kick()
    workspace_id = await make_workspace(runs_stack, f"ws-{uuid.uuid4().hex[:12]}")
    yield CI(runs_stack, runs_jenkins, workspace_id)
    dispatcher.interval, dispatcher.give_up_after = 0.1, 600.0
    dispatcher.push_every = 5.0
    dispatcher.kick()
    runs_jenkins.heal()
    await runs_jenkins.up()
