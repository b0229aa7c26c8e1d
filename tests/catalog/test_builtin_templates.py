"""The built-in global templates: installed at start, listed by type, protected from edits,
and each renders into a valid declarative Jenkinsfile."""

from __future__ import annotations

import json

import pytest
from workbench_sdk.devops.v1 import catalog_pb2 as sdk

from libs.jenkinsfile import to_json, validate
from services.devops_server.catalog.builtin import BUILTIN_TEMPLATES
from services.devops_server.catalog.store import CatalogStore
from services.devops_server.store.engine import create_engine, sessions
from tests.catalog.conftest import PIPELINE, SPEC, Stack, make_workspace

TEMPLATES = f"{PIPELINE}/templates"


async def test_every_built_in_template_is_listed_by_type(stack: Stack) -> None:
    await stack.http.post(
        TEMPLATES, json={"name": "mine", "spec": SPEC}, headers=stack.auth("admin")
    )

    answer = await stack.http.get(
        TEMPLATES, params={"type": "TEMPLATE_TYPE_BUILTIN"}, headers=stack.auth("bob")
    )

    items = answer.json()["items"]
    assert sorted(t["name"] for t in items) == sorted(BUILTIN_TEMPLATES)
    assert {t["type"] for t in items} == {"TEMPLATE_TYPE_BUILTIN"}
    assert all(t["global"] and t["enabled"] for t in items)


async def test_a_built_in_template_cannot_be_updated(stack: Stack) -> None:
    answer = await stack.http.put(
        f"{TEMPLATES}/golang", json={"description": "mine now"}, headers=stack.auth("admin")
    )

    assert answer.status_code == 400
    assert "built in" in answer.json()["message"]


async def test_a_built_in_template_cannot_be_deleted(stack: Stack) -> None:
    answer = await stack.http.delete(f"{TEMPLATES}/golang", headers=stack.auth("admin"))

    assert answer.status_code == 400
    assert "built in" in answer.json()["message"]


async def test_a_disabled_built_in_template_stays_disabled_when_installed_again(
    stack: Stack,
) -> None:
    await stack.http.post(f"{TEMPLATES}/maven:disable", json={}, headers=stack.auth("admin"))
    assert stack.settings.database_url
    engine = create_engine(stack.settings.database_url)

    await CatalogStore(sessions(engine)).install_builtins()  # what the next start does
    await engine.dispose()
    answer = await stack.http.get(f"{TEMPLATES}/maven", headers=stack.auth("admin"))

    assert answer.json()["enabled"] is False


@pytest.mark.parametrize("name", sorted(BUILTIN_TEMPLATES))
async def test_a_built_in_template_renders_a_valid_jenkinsfile(stack: Stack, name: str) -> None:
    workspace_id = await make_workspace(stack, "team-a")
    client = stack.api.devops

    answer = await client.call(
        client.catalog.RenderTemplate,
        sdk.RenderTemplateRequest(
            workspace_id=workspace_id,
            name=name,
            global_=True,
            parameters=json.dumps({"gitURL": "https://git.example/app.git"}),
        ),
    )

    assert "https://git.example/app.git" in answer.jenkinsfile
    assert validate(to_json(answer.jenkinsfile)) == []
