"""Drift and missed builds on the real stack (devops-server + apiserver) and the Jenkins stand-in.

`stack` and `jenkins` are the apiserver folder's fixtures; `drift` adds a workspace with the
stand-in registered and a stand-in event-proxy: the stand-in's Generic Event sender posts to
a closed port, and `forward()` hands what it sent to devops-server's receiver with
event-proxy's headers (the `Receiver` of tests/events). Without `forward()` no event arrives,
which is how a lost event looks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from libs.jenkins import JenkinsClient
from services.devops_server.events.tables import JenkinsEvent
from services.devops_server.store.tables import Pipeline
from tests.apiserver.conftest import Stack, jenkins, stack
from tests.events.conftest import WEBHOOK, Receiver
from tests.pipelines.conftest import CI, _prepared

__all__ = ["jenkins", "stack"]

CLOSED_PORT = "http://127.0.0.1:9/generic-event"


@dataclass
class Drift:
    ci: CI
    receiver: Receiver
    client: JenkinsClient
    forwarded: int = 0

    @property
    def workspace_id(self) -> int:
        return self.ci.workspace_id

    async def pipeline(self, name: str) -> None:
        created = await self.ci.create(name)
        assert created.status_code == 200, created.text
        put = await self.ci.put_jenkinsfile(name)
        assert put.status_code == 200, put.text
        assert put.headers.get("grpc-metadata-x-workbench-sync") == "synced", put.headers

    async def forward(self) -> list[dict[str, Any]]:
        """Deliver every event the stand-in sent since the last call; the envelopes."""
        await self.ci.jenkins.drain_events()
        sent = list(self.ci.jenkins.events_sent[self.forwarded :])
        self.forwarded += len(sent)
        for envelope in sent:
            headers = self.receiver.headers()
            headers["X-Event-Type"] = envelope["type"]
            answer = await self.receiver.http.post(WEBHOOK, json=envelope, headers=headers)
            assert answer.status_code == 200, answer.text
        return sent

    def job(self, name: str) -> tuple[str, str]:
        return (str(self.workspace_id), name)

    async def settled(self) -> None:
        """Wait until the background check has looked at every suspicion events noted."""

        async def none_left() -> bool:
            async with self.receiver.devops.sessions() as session:
                left = await session.scalar(
                    select(func.count()).select_from(Pipeline).where(Pipeline.drift_hint != "")
                )
            return bool(left == 0)

        assert await until(none_left), "drift suspicions were never checked"

    async def outcomes(self) -> list[tuple[str, str]]:
        """(type, outcome) of every recorded event, oldest first."""
        async with self.receiver.devops.sessions() as session:
            rows = await session.execute(
                select(JenkinsEvent.type, JenkinsEvent.outcome).order_by(JenkinsEvent.received_at)
            )
            return [(str(t), str(o)) for t, o in rows.all()]


async def until(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> bool:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.fixture
async def drift(stack: Stack, jenkins: Any) -> AsyncIterator[Drift]:
    ci = await _prepared(stack, jenkins)
    jenkins.receiver = CLOSED_PORT
    client = JenkinsClient(jenkins.url, jenkins.admin_user, jenkins.api_token)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.devops.http_port}") as http:
        yield Drift(ci, Receiver(stack.devops, http), client)
    await client.aclose()
