"""Configuration as Code endpoints: check, apply, export, reload."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml

from sandbox.jenkins import JenkinsStandIn

CONFIG = """
jenkins:
  systemMessage: "managed by casc"
  numExecutors: 4
unclassified:
  location:
    url: http://jenkins.example/
  eventDispatcher:
    receiver: http://receiver.example/event
credentials:
  system:
    domainCredentials:
      - credentials:
          - string:
              scope: GLOBAL
              id: casc-token
              secret: from-casc
"""


@pytest.fixture
async def http(standin: JenkinsStandIn) -> AsyncIterator[httpx.AsyncClient]:
    auth = (standin.admin_user, standin.api_token)
    async with httpx.AsyncClient(base_url=standin.url, auth=auth) as client:
        yield client


async def test_check_accepts_a_valid_document(http: httpx.AsyncClient) -> None:
    response = await http.post("configuration-as-code/check", content=CONFIG)

    assert (response.status_code, response.json()) == (200, [])


async def test_check_reports_an_unknown_root_element(http: httpx.AsyncClient) -> None:
    response = await http.post("configuration-as-code/check", content="nonsense: {}\n")

    assert response.status_code == 400
    assert "No configurator for the following root elements: nonsense" in response.text


async def test_apply_sets_the_event_receiver_and_location(
    standin: JenkinsStandIn, http: httpx.AsyncClient
) -> None:
    await http.post("configuration-as-code/apply", content=CONFIG)

    root = (await http.get("api/json")).json()
    assert standin.receiver == "http://receiver.example/event"
    assert root["url"] == "http://jenkins.example/"
    assert root["numExecutors"] == 4


async def test_apply_adds_system_credentials(
    standin: JenkinsStandIn, http: httpx.AsyncClient
) -> None:
    await http.post("configuration-as-code/apply", content=CONFIG)

    listed = (await http.get("credentials/store/system/domain/_/api/json")).json()
    assert [c["id"] for c in listed["credentials"]] == ["casc-token"]


async def test_export_writes_back_the_applied_settings(http: httpx.AsyncClient) -> None:
    await http.post("configuration-as-code/apply", content=CONFIG)

    exported = yaml.safe_load((await http.post("configuration-as-code/export")).text)

    assert (
        exported["unclassified"]["eventDispatcher"]["receiver"] == "http://receiver.example/event"
    )
    secret = exported["credentials"]["system"]["domainCredentials"][0]["credentials"][0]
    assert secret["string"]["secret"] != "from-casc"


async def test_reload_rereads_the_source_file(
    standin: JenkinsStandIn, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    source = tmp_path / "jenkins.yaml"
    source.write_text("jenkins:\n  systemMessage: first\n")
    standin.casc_path = str(source)
    standin.reload_casc()
    source.write_text("jenkins:\n  systemMessage: second\n")

    response = await http.post("configuration-as-code/reload")

    assert response.status_code == 302
    assert standin.jenkins.settings.system_message == "second"


async def test_reload_token_endpoint_needs_the_token(standin: JenkinsStandIn) -> None:
    standin.casc_reload_token = "t0k"

    async with httpx.AsyncClient(base_url=standin.url) as http:
        wrong = await http.post("reload-configuration-as-code/", params={"casc-reload-token": "x"})
        right = await http.post(
            "reload-configuration-as-code/", params={"casc-reload-token": "t0k"}
        )

    assert (wrong.status_code, right.status_code) == (401, 200)
