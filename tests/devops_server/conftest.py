from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from libs.devops_client import DevopsClient
from services.devops_server.app import DevopsServer
from tests.conftest import stack_settings


@pytest.fixture
async def devops(database_url: str) -> AsyncIterator[DevopsServer]:
    server = DevopsServer(stack_settings(database_url))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(devops: DevopsServer) -> AsyncIterator[DevopsClient]:
    assert devops.settings.internal_token
    sdk = DevopsClient(f"127.0.0.1:{devops.grpc_port}", devops.settings.internal_token)
    yield sdk
    await sdk.close()
