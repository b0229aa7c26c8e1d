"""Listing pipelines: paging, sorting and filters, with the last-run fields in each item.

The pipelines are made once for the module (the tests only read): six in one workspace,
their run summaries written straight into the table as the run side would keep them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from services.apiserver.app import ApiServer
from services.devops_server.app import DevopsServer
from tests.apiserver.conftest import Stack
from tests.conftest import drop_database, new_database, stack_settings
from tests.pipelines.conftest import conforms, new_workspace

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# name, type, last run state, minutes ago of the last run (None: never run), weather, group
ROWS: list[tuple[str, str, str, int | None, str, int | None]] = [
    ("api", "CUSTOM", "SUCCESS", 5, "SUNNY", 1),
    ("web", "SCM", "FAILED", 1, "STORM", 1),
    ("worker", "CUSTOM", "SUCCESS", 30, "CLOUDY", 2),
    ("docs", "CUSTOM", "", None, "", None),
    ("api-gateway", "SCM", "RUNNING", 2, "PARTIALLY", None),
    ("batch", "CUSTOM", "FAILED", 60, "RAINING", 2),
]
SCM = {"gitRepository": {"url": "https://git.example.com/x.git"}}


class Listing:
    def __init__(self, stack: Stack, workspace_id: int, groups: dict[int, int]) -> None:
        self.stack = stack
        self.workspace_id = workspace_id
        # The group numbers of ROWS -> the ids of the groups made for them.
        self.groups = groups

    async def get(self, **query: Any) -> httpx.Response:
        return await self.stack.http.get(
            f"/apis/pipeline.amamba.io/v1alpha1/workspaces/{self.workspace_id}/pipelines",
            params=query,
            headers=self.stack.auth("alice"),
        )

    async def names(self, **query: Any) -> list[str]:
        answer = await self.get(**query)
        assert answer.status_code == 200, answer.text
        return [item["name"] for item in answer.json()["items"]]


@pytest.fixture(scope="module")
async def listing(server_url: str, template_database: str) -> AsyncIterator[Listing]:
    url = await new_database(server_url, template_database)
    settings = stack_settings(url)
    devops = DevopsServer(settings)
    await devops.start()
    api = ApiServer(settings)
    await api.start()

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.http_port}") as http:
        stack = Stack(settings, devops, api, http)
        workspace_id = await new_workspace(stack, "team-a", {"alice": "workspace-admin"})
        other = await new_workspace(stack, "team-b", {"alice": "workspace-admin"})
        base = "/apis/pipeline.amamba.io/v1alpha1/workspaces/{}/pipelines"
        for name, kind, *_ in ROWS:
            body: dict[str, Any] = {"name": name, "type": f"PIPELINE_TYPE_{kind}"}
            if kind == "SCM":
                body["pipelineScm"] = SCM
            made = await http.post(
                base.format(workspace_id), json=body, headers=stack.auth("alice")
            )
            assert made.status_code == 200, made.text
        await http.post(base.format(other), json={"name": "elsewhere"}, headers=stack.auth("alice"))
        groups = {}
        # Made in the opposite order of their names, so ids and names sort differently.
        for number, group in ((1, "zeta"), (2, "alpha")):
            made = await http.post(
                f"/apis/pipeline.amamba.io/v1alpha1/workspaces/{workspace_id}/groups",
                json={"name": group},
                headers=stack.auth("alice"),
            )
            assert made.status_code == 200, made.text
            groups[number] = int(made.json()["id"])
        await _summaries(url, workspace_id, groups)
        yield Listing(stack, workspace_id, groups)

    await api.stop()
    await devops.stop()
    await drop_database(server_url, url)


async def _summaries(url: str, workspace_id: int, groups: dict[int, int]) -> None:
    connection = await asyncpg.connect(url)
    try:
        for index, (name, _, state, minutes, weather, group) in enumerate(ROWS):
            await connection.execute(
                "UPDATE pipelines SET last_run_state = $1, last_run_at = $2, weather = $3,"
                " group_id = $4, total_runs = $5, total_successes = $6,"
                " created_at = $7, disabled = $8 WHERE workspace_id = $9 AND name = $10",
                state,
                NOW - timedelta(minutes=minutes) if minutes is not None else None,
                weather,
                groups[group] if group is not None else None,
                10 if state else 0,
                7 if state else 0,
                NOW - timedelta(days=index),
                name == "batch",
                workspace_id,
                name,
            )
    finally:
        await connection.close()


async def test_answer_has_the_contract_shape_and_last_run_fields(listing: Listing) -> None:
    answer = await listing.get(searchName="worker")

    conforms(answer.json(), "v1alpha1ListPipelinesResponse")
    item = answer.json()["items"][0]
    assert item["lastPipelineRunState"] == "SUCCESS"
    assert item["lastRunTime"] == str(int((NOW - timedelta(minutes=30)).timestamp() * 1000))
    assert item["totalRunTimes"] == "10"
    assert item["totalSuccessTimes"] == "7"
    assert item["weather"] == "PIPELINE_WEATHER_CLOUDY"


async def test_only_the_workspace_own_pipelines_are_listed(listing: Listing) -> None:
    assert "elsewhere" not in await listing.names()


async def test_pages_and_pagination(listing: Listing) -> None:
    answer = await listing.get(page=2, pageSize=4, sortBy="PIPELINE_FIELD_NAME", sortDir="ASC")

    assert [i["name"] for i in answer.json()["items"]] == ["web", "worker"]
    assert answer.json()["pagination"] == {"page": 2, "pageSize": 4, "total": 6, "pages": 2}


async def test_page_past_the_end_is_empty_with_the_total(listing: Listing) -> None:
    answer = await listing.get(page=9, pageSize=4)

    assert answer.json()["items"] == []
    assert answer.json()["pagination"]["total"] == 6


async def test_sorted_by_name_ascending(listing: Listing) -> None:
    names = await listing.names(sortBy="PIPELINE_FIELD_NAME", sortDir="ASC")

    assert names == sorted(name for name, *_ in ROWS)


async def test_sorted_by_last_run_time_newest_first_never_run_last(listing: Listing) -> None:
    names = await listing.names(sortBy="PIPELINE_LAST_RUN_TIME")

    assert names == ["web", "api-gateway", "api", "worker", "batch", "docs"]


async def test_sorted_by_created_oldest_first(listing: Listing) -> None:
    names = await listing.names(sortBy="PIPELINE_CREATED_AT", sortDir="ASC")

    assert names == [name for name, *_ in reversed(ROWS)]


async def test_sorted_by_group_name_pipelines_in_no_group_first(listing: Listing) -> None:
    names = await listing.names(sortBy="PIPELINE_GROUP", sortDir="ASC")

    # No group (by id), then "alpha" (group 2 of ROWS), then "zeta" (group 1).
    assert names == ["docs", "api-gateway", "worker", "batch", "api", "web"]


async def test_sorted_by_group_name_descending(listing: Listing) -> None:
    names = await listing.names(sortBy="PIPELINE_GROUP", sortDir="DESC")

    assert names == ["web", "api", "batch", "worker", "api-gateway", "docs"]


async def test_sorted_by_weather(listing: Listing) -> None:
    names = await listing.names(sortBy="PIPELINE_WEATHER", sortDir="ASC")

    assert names == ["docs", "api", "api-gateway", "worker", "batch", "web"]


async def test_sorted_by_last_run_state(listing: Listing) -> None:
    names = await listing.names(sortBy="PIPELINE_LAST_RUN_STATE", sortDir="ASC")

    assert names[0] == "docs"
    assert names[1] == "api-gateway"  # RUNNING comes before SUCCESS and FAILED


async def test_filtered_by_name_search(listing: Listing) -> None:
    assert await listing.names(searchName="API", sortBy="PIPELINE_FIELD_NAME", sortDir="ASC") == [
        "api",
        "api-gateway",
    ]


async def test_name_search_treats_wildcards_literally(listing: Listing) -> None:
    assert await listing.names(searchName="%") == []


async def test_filtered_by_build_type(listing: Listing) -> None:
    names = await listing.names(searchBuildType="PIPELINE_TYPE_SCM")

    assert sorted(names) == ["api-gateway", "web"]


async def test_filtered_by_several_weathers(listing: Listing) -> None:
    names = await listing.names(weather=["PIPELINE_WEATHER_SUNNY", "PIPELINE_WEATHER_STORM"])

    assert sorted(names) == ["api", "web"]


async def test_filtered_by_group(listing: Listing) -> None:
    assert sorted(await listing.names(**{"group.id": listing.groups[2]})) == ["batch", "worker"]


async def test_filtered_by_last_run_state(listing: Listing) -> None:
    assert sorted(await listing.names(lastRunState="FAILED")) == ["batch", "web"]


async def test_filtered_to_disabled(listing: Listing) -> None:
    assert await listing.names(disabled="true") == ["batch"]


async def test_oversized_page_is_refused(listing: Listing) -> None:
    answer = await listing.get(pageSize=100000)

    assert answer.status_code == 400
    assert "pageSize" in answer.json()["message"]
