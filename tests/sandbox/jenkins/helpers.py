"""Builders for the XML and Jenkinsfiles the stand-in tests feed it, and small waits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, TypeVar
from xml.sax.saxutils import escape

from sandbox.jenkins import JenkinsStandIn
from sandbox.jenkins._model import QueueItem, Run

T = TypeVar("T")

USER_CAUSE = {
    "_class": "hudson.model.Cause$UserIdCause",
    "shortDescription": "Started by user admin",
    "userId": "admin",
    "userName": "admin",
}


def pipeline_xml(
    script: str | dict[str, Any],
    *,
    parameters: str = "",
    disabled: bool = False,
    concurrent: bool = True,
    description: str = "",
) -> str:
    """A pipeline job's config.xml with an inline script (a JSON model is serialised)."""
    text = json.dumps(script) if isinstance(script, dict) else script
    properties = ""
    if parameters:
        properties += (
            "<hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
            f"{parameters}</parameterDefinitions></hudson.model.ParametersDefinitionProperty>"
        )
    if not concurrent:
        properties += (
            "<org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty/>"
        )
    return f"""<?xml version='1.1' encoding='UTF-8'?>
<flow-definition plugin="workflow-job">
  <actions/>
  <description>{escape(description)}</description>
  <keepDependencies>false</keepDependencies>
  <properties>{properties}</properties>
  <definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition" plugin="workflow-cps">
    <script>{escape(text)}</script>
    <sandbox>true</sandbox>
  </definition>
  <triggers/>
  <disabled>{"true" if disabled else "false"}</disabled>
</flow-definition>
"""


def string_parameter(name: str, default: str = "") -> str:
    return (
        f"<hudson.model.StringParameterDefinition><name>{name}</name>"
        f"<description></description><defaultValue>{default}</defaultValue>"
        "<trim>false</trim></hudson.model.StringParameterDefinition>"
    )


def boolean_parameter(name: str, default: bool = False) -> str:
    return (
        f"<hudson.model.BooleanParameterDefinition><name>{name}</name>"
        f"<defaultValue>{'true' if default else 'false'}</defaultValue>"
        "</hudson.model.BooleanParameterDefinition>"
    )


def secret_text_xml(credential_id: str, secret: str) -> str:
    return (
        "<org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl>"
        f"<scope>GLOBAL</scope><id>{credential_id}</id><description>for tests</description>"
        f"<secret>{secret}</secret>"
        "</org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl>"
    )


def username_password_xml(credential_id: str, username: str, password: str) -> str:
    return (
        "<com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl>"
        f"<scope>GLOBAL</scope><id>{credential_id}</id><description></description>"
        f"<username>{username}</username><password>{password}</password>"
        "</com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl>"
    )


def declarative(stages: str, *, extra: str = "", agent: str = "any") -> str:
    """`pipeline { agent any; <extra>; stages { <stages> } }`."""
    return f"pipeline {{\n  agent {agent}\n  {extra}\n  stages {{\n{stages}\n  }}\n}}\n"


def stage(name: str, steps: str, *, extra: str = "") -> str:
    return f"    stage('{name}') {{\n      {extra}\n      steps {{\n{steps}\n      }}\n    }}"


def parallel_stage(name: str, branches: str, *, extra: str = "") -> str:
    """A stage whose `parallel` section holds `branches` (stages built with `stage`)."""
    return f"    stage('{name}') {{\n      {extra}\n      parallel {{\n{branches}\n      }}\n    }}"


def schedule(
    standin: JenkinsStandIn, full_name: str, params: dict[str, str] | None = None
) -> QueueItem:
    """Queue a build in process, without the quiet period."""
    job = standin.jenkins.job(full_name)
    return standin.jenkins.schedule(job, params, dict(USER_CAUSE), delay=0)


async def until(predicate: Callable[[], T | None], *, within: float = 10.0) -> T:
    """Poll `predicate` until it returns something truthy (real seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.005)
    raise TimeoutError("condition not met in time")


async def started(item: QueueItem) -> Run:
    return await until(lambda: item.run)


async def finished(item: QueueItem, *, within: float = 10.0) -> Run:
    run = await started(item)
    await until(lambda: not run.building, within=within)
    return run


async def build(
    standin: JenkinsStandIn,
    full_name: str,
    params: dict[str, str] | None = None,
    *,
    within: float = 10.0,
) -> Run:
    """Queue a build and wait until it has finished."""
    return await finished(schedule(standin, full_name, params), within=within)


def log_of(run: Run) -> str:
    return bytes(run.log).decode("utf-8")
