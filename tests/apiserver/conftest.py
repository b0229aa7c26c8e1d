from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from libs.auth.tokens import mint
from libs.common.config import Settings
from services.apiserver.app import ApiServer
from services.devops_server.app import DevopsServer
from tests.conftest import stack_settings


@dataclass
class Stack:
    settings: Settings
    devops: DevopsServer
    api: ApiServer
    http: httpx.AsyncClient

    def token(self, user: str, groups: tuple[str, ...] = ()) -> str:
        assert self.settings.jwt_secret
        return mint(user, self.settings.jwt_secret, groups=groups)

    def auth(self, user: str, groups: tuple[str, ...] = ()) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user, groups)}"}

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.api.grpc_port}"


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Stack]:
    """devops-server and apiserver on `settings`, with an HTTP client of the REST port."""
    devops = DevopsServer(settings)
    await devops.start()
    try:
        api = ApiServer(settings)
        await api.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.http_port}") as http:
                yield Stack(settings, devops, api, http)
        finally:
            await api.stop()
    finally:
        await devops.stop()


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    async with running(stack_settings(database_url)) as started:
        yield started


@pytest.fixture
async def member_cluster() -> AsyncIterator[Any]:
    from sandbox.kube import KubeStandIn

    cluster = KubeStandIn(name="member-1")
    await cluster.start()
    yield cluster
    await cluster.stop()


@pytest.fixture
async def jenkins() -> AsyncIterator[Any]:
    from sandbox.jenkins import JenkinsStandIn

    standin = JenkinsStandIn(time_scale=100.0)
    await standin.start()
    yield standin
    await standin.stop()
