from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sandbox.jenkins import JenkinsStandIn
from services.devops_server.app import DevopsServer
from tests.conftest import stack_settings

WEBHOOK = "/apis/internel.amamba.io/devops/pipeline/v1alpha1/webhooks/jenkins"


@dataclass
class Receiver:
    devops: DevopsServer
    http: httpx.AsyncClient

    @property
    def token(self) -> str:
        assert self.devops.settings.internal_token
        return self.devops.settings.internal_token

    def headers(self, instance: str = "jenkins-a", token: str | None = None) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token or self.token}",
            "X-Workbench-Jenkins": instance,
            "X-Event-Type": "run.started",
        }

    async def post(self, body: Any, **kwargs: Any) -> httpx.Response:
        return await self.http.post(WEBHOOK, json=body, headers=self.headers(**kwargs))

    async def post_batch(self, body: Any, **kwargs: Any) -> httpx.Response:
        """Post as event-proxy posts a backlog: a JSON array to the batch path."""
        return await self.http.post(f"{WEBHOOK}:batch", json=body, headers=self.headers(**kwargs))


@pytest.fixture
async def receiver(database_url: str) -> AsyncIterator[Receiver]:
    devops = DevopsServer(stack_settings(database_url))
    await devops.start()
    await devops.instances.register(
        "jenkins-a", "http://127.0.0.1:1", "admin", "token", default=True, options={}
    )
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{devops.http_port}") as http:
        yield Receiver(devops, http)
    await devops.stop()


@pytest.fixture
async def jenkins() -> AsyncIterator[JenkinsStandIn]:
    standin = JenkinsStandIn(time_scale=100.0)
    await standin.start()
    yield standin
    await standin.stop()


from tests.apiserver.conftest import stack  # noqa: E402, F401  (shared fixture)
