"""A run's parameters: checked against the definition, defaults filled in, passwords hidden."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import pytest

from tests.runs.conftest import CI, declarative

SECRET = "hunter2-never-shown"
DEFINITIONS: list[dict[str, Any]] = [
    {"name": "TARGET", "type": "PARAMETER_TYPE_STRING", "defaultValue": "dev"},
    {"name": "DRY_RUN", "type": "PARAMETER_TYPE_BOOLEAN", "defaultValue": "true"},
    {"name": "REGION", "type": "PARAMETER_TYPE_CHOICE", "defaultValue": "eu\nus\nasia"},
    {"name": "TOKEN", "type": "PARAMETER_TYPE_PASSWORD", "defaultValue": ""},
]
SCRIPT = declarative(("Deploy", 'echo "deploying to $TARGET in $REGION"'))


async def deploy(ci: CI) -> None:
    await ci.pipeline("deploy", SCRIPT, DEFINITIONS)


def values(run: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in run["parameters"]}


async def test_missing_parameters_take_their_defaults(ci: CI) -> None:
    await deploy(ci)

    answer = await ci.run("deploy", {"TARGET": "prod"})

    assert answer.status_code == 200, answer.text
    assert values(answer.json()) == {
        "TARGET": "prod",
        "DRY_RUN": "true",
        "REGION": "eu",
        "TOKEN": "",
    }


async def test_unknown_parameter_is_refused_by_name(ci: CI) -> None:
    await deploy(ci)

    answer = await ci.run("deploy", {"TARGTE": "prod"})

    assert answer.status_code == 400
    assert "TARGTE" in answer.json()["message"]


async def test_boolean_parameter_takes_only_true_or_false(ci: CI) -> None:
    await deploy(ci)

    answer = await ci.run("deploy", {"DRY_RUN": "maybe"})

    assert answer.status_code == 400
    assert "DRY_RUN" in answer.json()["message"]


async def test_choice_outside_the_list_is_refused(ci: CI) -> None:
    await deploy(ci)

    answer = await ci.run("deploy", {"REGION": "mars"})

    assert answer.status_code == 400
    assert "REGION" in answer.json()["message"]
    assert "mars" in answer.json()["message"]


async def test_refused_run_is_not_stored(ci: CI) -> None:
    await deploy(ci)
    await ci.run("deploy", {"REGION": "mars"})

    listed = await ci.get("deploy", "/runs")
    accepted = await ci.run("deploy", {"REGION": "us"})

    assert listed.json()["items"] == []
    assert accepted.json()["runId"] == "1"


async def test_values_reach_jenkins(ci: CI) -> None:
    await deploy(ci)
    run_id = await ci.started("deploy", {"TARGET": "prod", "REGION": "us"})
    await ci.wait("deploy", run_id)

    log = (await ci.get("deploy", f"/runs/{run_id}/log")).json()["log"]

    assert "deploying to prod in us" in log


async def test_run_parameters_are_answered_with_their_definition(ci: CI) -> None:
    await deploy(ci)
    run_id = await ci.started("deploy", {"REGION": "asia"})

    answer = await ci.get("deploy", f"/runs/{run_id}/parameters")

    assert answer.status_code == 200, answer.text
    region = next(p for p in answer.json()["items"] if p["name"] == "REGION")
    assert region == {
        "name": "REGION",
        "defaultValue": "eu",
        "value": "asia",
        "type": "PARAMETER_TYPE_CHOICE",
        "description": "",
    }


async def test_password_value_never_appears_in_an_answer_nor_a_log_line(
    ci: CI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    script = declarative(("Use", 'echo "token is $TOKEN"'))
    await ci.pipeline("secret", script, DEFINITIONS)
    started = await ci.run("secret", {"TOKEN": SECRET})
    run_id = started.json()["runId"]
    await ci.wait("secret", run_id)

    answers = [
        started,
        await ci.get("secret", f"/runs/{run_id}"),
        await ci.get("secret", "/runs"),
        await ci.get("secret", f"/runs/{run_id}/parameters"),
        await ci.get("secret", f"/runs/{run_id}/log"),
        await ci.post("secret", f"/runs/{run_id}:replay"),
    ]

    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert SECRET not in answer.text
    assert "token is ****" in answers[4].json()["log"]
    assert "run 1 of secret asked for by admin" in caplog.text  # the log was captured
    assert SECRET not in caplog.text


async def test_password_value_is_sealed_at_rest(ci: CI) -> None:
    await deploy(ci)
    await ci.started("deploy", {"TOKEN": SECRET})
    assert ci.stack.settings.database_url

    connection = await asyncpg.connect(ci.stack.settings.database_url)
    stored = await connection.fetchval(
        "SELECT parameters::text FROM runs WHERE workspace_id = $1", ci.workspace_id
    )
    await connection.close()

    assert SECRET not in stored


async def test_password_left_out_reaches_jenkins_as_its_clear_default(
    ci: CI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "default-token-never-shown"
    definitions = [{"name": "TOKEN", "type": "PARAMETER_TYPE_PASSWORD", "defaultValue": secret}]
    await ci.pipeline("keyed", declarative(("Use", 'echo "token is $TOKEN"')), definitions)
    started = await ci.run("keyed")
    run_id = started.json()["runId"]
    finished = await ci.wait("keyed", run_id)
    log = await ci.get("keyed", f"/runs/{run_id}/log")
    parameters = await ci.get("keyed", f"/runs/{run_id}/parameters")

    build = ci.jenkins.item(f"{ci.workspace_id}/keyed").builds()[-1]
    assert build.values["TOKEN"] == secret
    assert finished["state"] == "SUCCESS"
    assert "token is ****" in log.json()["log"]
    assert "sealed:" not in log.json()["log"]
    for answer in (started, log, parameters):
        assert answer.status_code == 200, answer.text
        assert secret not in answer.text
    assert secret not in caplog.text


async def redefine(ci: CI, pipeline: str, definitions: list[dict[str, Any]]) -> None:
    answer = await ci.http.put(
        ci.url(pipeline),
        json={"type": "PIPELINE_TYPE_CUSTOM", "parameters": definitions},
        headers=ci.stack.auth("admin"),
    )
    assert answer.status_code == 200, answer.text


async def test_replay_gives_the_old_values_and_defaults_for_parameters_added_since(
    ci: CI,
) -> None:
    script = declarative(("Use", 'echo "to $TARGET in $REGION with $TOKEN, $EXTRA"'))
    await ci.pipeline("again", script, DEFINITIONS)
    first = await ci.started("again", {"TARGET": "prod", "REGION": "us", "TOKEN": SECRET})
    await ci.wait("again", first)
    added = {"name": "EXTRA", "type": "PARAMETER_TYPE_STRING", "defaultValue": "extra"}
    await redefine(ci, "again", [*DEFINITIONS, added])

    replayed = await ci.post("again", f"/runs/{first}:replay")
    run = await ci.wait("again", replayed.json()["runId"])

    assert replayed.status_code == 200, replayed.text
    assert values(run) == {
        "TARGET": "prod",
        "DRY_RUN": "true",
        "REGION": "us",
        "TOKEN": "",
        "EXTRA": "extra",
    }
    build = ci.jenkins.item(f"{ci.workspace_id}/again").builds()[-1]
    assert build.values["TOKEN"] == SECRET
    assert SECRET not in replayed.text


async def test_replay_of_a_parameter_since_removed_is_refused_naming_it(ci: CI) -> None:
    await deploy(ci)
    first = await ci.started("deploy", {"TARGET": "prod"})
    await redefine(ci, "deploy", [d for d in DEFINITIONS if d["name"] != "TARGET"])

    refused = await ci.post("deploy", f"/runs/{first}:replay")
    listed = await ci.get("deploy", "/runs")

    assert refused.status_code == 400, refused.text
    assert refused.json()["message"].startswith("parameters[TARGET]: ")
    assert "changed since run 1" in refused.json()["message"]
    assert [r["runId"] for r in listed.json()["items"]] == ["1"]


async def test_replay_of_a_choice_no_longer_offered_is_refused_naming_it(ci: CI) -> None:
    await deploy(ci)
    first = await ci.started("deploy", {"REGION": "asia"})
    narrowed = [
        {**d, "defaultValue": "eu\nus"} if d["name"] == "REGION" else d for d in DEFINITIONS
    ]
    await redefine(ci, "deploy", narrowed)

    refused = await ci.post("deploy", f"/runs/{first}:replay")

    assert refused.status_code == 400, refused.text
    assert refused.json()["message"].startswith("parameters[REGION]: 'asia' is not one of")


async def test_replay_never_hands_an_old_password_to_a_parameter_that_is_no_longer_one(
    ci: CI,
) -> None:
    await deploy(ci)
    first = await ci.started("deploy", {"TOKEN": SECRET})
    plain = [
        {**d, "type": "PARAMETER_TYPE_STRING"} if d["name"] == "TOKEN" else d for d in DEFINITIONS
    ]
    await redefine(ci, "deploy", plain)

    refused = await ci.post("deploy", f"/runs/{first}:replay")

    assert refused.status_code == 400, refused.text
    assert refused.json()["message"].startswith("parameters[TOKEN]: ")
    assert SECRET not in refused.text
