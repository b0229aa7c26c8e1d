"""The Jenkins side of the pipeline Management service."""

from __future__ import annotations

from tests.pipelines.conftest import CI

RELOAD = "/apis/pipeline.amamba.io/v1alpha1/management/reload"


async def test_reload_reloads_configuration_as_code(ci: CI) -> None:
    answer = await ci.http.post(RELOAD, headers=ci.auth("admin"))

    assert answer.status_code == 200, answer.text
    assert answer.json() == {}


async def test_reload_is_for_platform_admins(ci: CI) -> None:
    assert (await ci.http.post(RELOAD, headers=ci.auth("alice"))).status_code == 403


async def test_reload_with_jenkins_down_is_503(ci: CI) -> None:
    await ci.jenkins.down()

    answer = await ci.http.post(RELOAD, headers=ci.auth("admin"))

    assert answer.status_code == 503
    assert "'jenkins-a'" in answer.json()["message"]
