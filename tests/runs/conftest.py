"""Runs over REST against the Jenkins stand-in.

One stack (real devops-server and apiserver, as `tests/apiserver`'s `stack` fixture builds it,
on a fresh database) and one Jenkins stand-in (100x virtual time, registered as the default
instance) serve every test of a module, which keeps this folder fast; `ci` gives each test a
workspace of its own, so tests never see each other's pipelines or runs, and puts the
dispatcher and the stand-in back to normal after each test. Until the pipelines
service can create pipelines, `ci.pipeline(...)` seeds one as that service will: a
`pipelines` row whose `spec` is the API's Pipeline message in proto JSON, and the Jenkins job
`<workspaceId>/<name>` with a matching config.xml.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import asyncpg
import httpx
import pytest

from libs.jenkins import JenkinsClient
from services.apiserver.app import ApiServer
from services.devops_server.app import DevopsServer
from tests.apiserver.conftest import Stack
from tests.conftest import drop_database, new_database, stack_settings

PIPELINES = "/apis/pipeline.amamba.io/v1alpha1/workspaces/{}/pipelines"
FINAL = ("SUCCESS", "FAILED", "CANCELED", "ERROR", "NOT_BUILT", "UNKNOWN", "UNSTABLE")

_XML_KINDS = {
    "PARAMETER_TYPE_STRING": "hudson.model.StringParameterDefinition",
    "PARAMETER_TYPE_TEXT": "hudson.model.TextParameterDefinition",
    "PARAMETER_TYPE_BOOLEAN": "hudson.model.BooleanParameterDefinition",
    "PARAMETER_TYPE_CHOICE": "hudson.model.ChoiceParameterDefinition",
    "PARAMETER_TYPE_PASSWORD": "hudson.model.PasswordParameterDefinition",
}


def parameter_xml(definition: dict[str, Any]) -> str:
    kind = _XML_KINDS[definition["type"]]
    default = str(definition.get("defaultValue", ""))
    inner = f"<name>{escape(definition['name'])}</name><description></description>"
    if kind.endswith("ChoiceParameterDefinition"):
        strings = "".join(f"<string>{escape(c)}</string>" for c in default.splitlines())
        inner += f'<choices class="java.util.Arrays$ArrayList"><a class="string-array">{strings}'
        inner += "</a></choices>"
    else:
        inner += f"<defaultValue>{escape(default)}</defaultValue>"
    return f"<{kind}>{inner}</{kind}>"


def pipeline_xml(script: str, definitions: list[dict[str, Any]]) -> str:
    properties = ""
    if definitions:
        properties = (
            "<hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
            + "".join(parameter_xml(d) for d in definitions)
            + "</parameterDefinitions></hudson.model.ParametersDefinitionProperty>"
        )
    return (
        "<?xml version='1.1' encoding='UTF-8'?>\n"
        '<flow-definition plugin="workflow-job"><actions/><description></description>'
        f"<keepDependencies>false</keepDependencies><properties>{properties}</properties>"
        '<definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" '
        f'plugin="workflow-cps"><script>{escape(script)}</script><sandbox>true</sandbox>'
        "</definition><triggers/><disabled>false</disabled></flow-definition>"
    )


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
        workspace_id: int | None = None,
        job: bool = True,
    ) -> None:
        """Seed a pipeline: its row (as the pipelines service stores it) and its Jenkins job
        (unless `job` is false: a pipeline Jenkins does not know)."""
        workspace = workspace_id or self.workspace_id
        definitions = parameters or []
        spec = {"workspaceId": str(workspace), "name": name, "parameters": definitions}
        assert self.stack.settings.database_url
        connection = await asyncpg.connect(self.stack.settings.database_url)
        try:
            await connection.execute(
                "INSERT INTO pipelines (workspace_id, name, type, spec, jenkinsfile, disabled,"
                " generation, synced_generation, sync_error, last_run_seq, last_run_state,"
                " total_runs, total_successes, weather)"
                " VALUES ($1, $2, 'CUSTOM', $3::jsonb, $4, false, 1, 1, '', 0, '', 0, 0, '')",
                workspace,
                name,
                json.dumps(spec),
                script,
            )
        finally:
            await connection.close()
        if not job:
            return
        async with JenkinsClient(
            self.jenkins.url, self.jenkins.admin_user, self.jenkins.api_token
        ) as client:
            await client.ensure_folder(str(workspace))
            await client.create_or_update_job(
                (str(workspace), name), pipeline_xml(script, definitions)
            )

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
    settings = stack_settings(url)
    devops = DevopsServer(settings)
    await devops.start()
    api = ApiServer(settings)
    await api.start()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.http_port}") as http:
        yield Stack(settings, devops, api, http)
    await api.stop()
    await devops.stop()
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
    dispatcher.give_up_after = 600.0
    runs_jenkins.heal()
    await runs_jenkins.up()
