"""Fixtures for the Jenkins client tests: the Jenkins stand-in in process, and a client of it.

Each test gets its own stand-in on a free port (starting one takes milliseconds) with virtual
time 500 times faster, so the 5-second quiet period lasts 10 ms and `sleep 60` 0.12 s. The
client is authenticated with the admin's API token, as Workbench is in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from libs.jenkins import JenkinsClient
from sandbox.jenkins import JenkinsStandIn

TIME_SCALE = 500.0


@pytest.fixture
async def standin() -> AsyncIterator[JenkinsStandIn]:
    server = JenkinsStandIn(time_scale=TIME_SCALE)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def jenkins(standin: JenkinsStandIn) -> AsyncIterator[JenkinsClient]:
    async with JenkinsClient(standin.url, standin.admin_user, standin.api_token) as client:
        yield client
