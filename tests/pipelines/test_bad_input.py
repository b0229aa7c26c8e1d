"""Bad definitions over REST: 400s naming the field, nothing stored."""

from __future__ import annotations

import pytest

from tests.pipelines.conftest import CI


@pytest.fixture
def ci(shared_ci: CI) -> CI:
    return shared_ci


async def test_bad_pipeline_name_is_refused_and_nothing_is_stored(ci: CI) -> None:
    answer = await ci.create("a/b")

    assert answer.status_code == 400, answer.text
    assert answer.json()["message"].startswith("name:")
    assert "a/b" not in [item["name"] for item in (await ci.list()).json()["items"]]


async def test_bad_cron_names_the_trigger_field(ci: CI) -> None:
    answer = await ci.create("p", triggers={"time": {"cron": "every day at noon"}})

    assert answer.status_code == 400
    assert "triggers.time.cron" in answer.json()["message"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"genericWebhookTrigger": {"enabled": True}}, "genericWebhookTrigger.enabled"),
        ({"manualWebhookTrigger": {"webhookTrigger": True}}, "manualWebhookTrigger.webhookTrigger"),
    ],
)
async def test_a_webhook_trigger_is_refused_and_nothing_is_stored(
    ci: CI, fields: dict[str, object], field: str
) -> None:
    answer = await ci.create("hooked", **fields)
    read = await ci.get("hooked")

    assert answer.status_code == 400, answer.text
    assert answer.json()["message"].startswith(f"{field}: ")
    assert read.status_code == 404
    assert ci.job("hooked") is None


async def test_scm_pipeline_without_a_git_url_is_refused(ci: CI) -> None:
    answer = await ci.create("p", type="PIPELINE_TYPE_SCM", pipelineScm={"branch": "main"})

    assert answer.status_code == 400
    assert "pipelineScm.gitRepository.url" in answer.json()["message"]


async def test_unknown_field_is_refused(ci: CI) -> None:
    answer = await ci.create("p", color="blue")

    assert answer.status_code == 400


async def test_non_numeric_workspace_is_refused(ci: CI) -> None:
    answer = await ci.http.get(
        "/apis/pipeline.amamba.io/v1alpha1/workspaces/abc/pipelines", headers=ci.auth("admin")
    )

    assert answer.status_code == 400
