"""Fixtures for the Jenkins stand-in tests: a stand-in on a free port, real clients, a receiver.

Each test gets its own stand-in (starting one takes a few milliseconds) with time running 200
times faster, so a 5-second quiet period lasts 25 ms and `sleep 60` 0.3 s. python-jenkins is
synchronous: tests call it through `asyncio.to_thread`, since the stand-in serves from the
test's own event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import jenkins
import pytest
from aiohttp import web
from api4jenkins import AsyncJenkins

from sandbox.jenkins import JenkinsStandIn

TIME_SCALE = 200.0


@pytest.fixture
async def standin() -> AsyncIterator[JenkinsStandIn]:
    server = JenkinsStandIn(time_scale=TIME_SCALE)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def server(standin: JenkinsStandIn) -> jenkins.Jenkins:
    """python-jenkins, authenticated with the admin's API token."""
    return jenkins.Jenkins(standin.url, username=standin.admin_user, password=standin.api_token)


@pytest.fixture
async def client(standin: JenkinsStandIn) -> AsyncIterator[AsyncJenkins]:
    """api4jenkins's AsyncJenkins, authenticated with the admin's API token."""
    async_client = AsyncJenkins(standin.url, auth=(standin.admin_user, standin.api_token))
    yield async_client
    await async_client.http_client.aclose()


@dataclass
class Receiver:
    """An HTTP endpoint that records what the Generic Event plugin posts to it."""

    url: str = ""
    posts: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200

    def types(self) -> list[str]:
        return [post["headers"]["X-Event-Type"] for post in self.posts]

    def bodies(self, type: str) -> list[dict[str, Any]]:
        return [post["json"] for post in self.posts if post["json"]["type"] == type]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recorded = Receiver()

    async def record(request: web.Request) -> web.Response:
        recorded.posts.append(
            {
                "headers": dict(request.headers),
                "text": await request.text(),
                "json": await request.json(),
            }
        )
        return web.Response(status=recorded.status)

    app = web.Application()
    app.router.add_post("/event", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    recorded.url = f"http://127.0.0.1:{port}/event"
    yield recorded
    await runner.cleanup()
