"""A password parameter's default reaches Jenkins and is never answered."""

from __future__ import annotations

import logging

import asyncpg
import pytest

from tests.pipelines.conftest import CI

SECRET = "s3cr3t-default-never-shown"
PASSWORD = [{"name": "TOKEN", "type": "PARAMETER_TYPE_PASSWORD", "defaultValue": SECRET}]


async def test_password_default_is_never_answered_nor_logged(
    ci: CI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = await ci.create("build-app", parameters=PASSWORD)
    read = await ci.get("build-app")
    listed = await ci.list()
    parameters = await ci.http.get(ci.path("/build-app/parameters"), headers=ci.auth())

    for answer in (created, read, listed, parameters):
        assert answer.status_code == 200, answer.text
        assert SECRET not in answer.text
    shown = read.json()["parameters"][0]
    assert shown["redact"] is True
    assert shown["defaultValue"] == ""
    assert "pipeline pushed" in caplog.text  # the push to Jenkins was logged
    assert SECRET not in caplog.text


async def test_password_default_reaches_jenkins_and_is_sealed_at_rest(
    ci: CI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await ci.create("build-app", parameters=PASSWORD)
    assert ci.stack.settings.database_url

    connection = await asyncpg.connect(ci.stack.settings.database_url)
    stored = await connection.fetchval("SELECT spec::text FROM pipelines")
    await connection.close()

    assert ci.job("build-app").config.parameter("TOKEN").default == SECRET
    assert SECRET not in caplog.text
    assert SECRET not in stored


async def test_update_without_the_password_keeps_it(
    ci: CI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await ci.create("build-app", parameters=PASSWORD)
    read = await ci.get("build-app")

    await ci.http.put(
        ci.path("/build-app"),
        json={"type": "PIPELINE_TYPE_CUSTOM", "parameters": read.json()["parameters"]},
        headers=ci.auth(),
    )

    assert ci.job("build-app").config.parameter("TOKEN").default == SECRET
    assert SECRET not in caplog.text
