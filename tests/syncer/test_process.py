"""The syncer process serves health and metrics on its HTTP port."""

from __future__ import annotations

import httpx

from services.syncer.app import Syncer
from tests.conftest import free_port, stack_settings


async def test_syncer_answers_health_and_metrics() -> None:
    syncer = Syncer(stack_settings("postgresql://unused", syncer_http_port=free_port()))
    await syncer.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{syncer.http_port}") as http:
            health = await http.get("/healthz")
            metrics = await http.get("/metrics")
    finally:
        await syncer.stop()

    assert health.json() == {"status": "ok"}
    assert "python_info" in metrics.text
