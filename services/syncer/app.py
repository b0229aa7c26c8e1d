"""syncer: the reconciliation loops that keep Jenkins, Argo CD and KubeVela consistent.

This process serves health, readiness and metrics on its HTTP port. It runs no reconciler
yet: the loops, their work queue and the leader election are the next piece of work (see
docs/development.md, "What is built").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import uvicorn
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from libs.common.config import Settings

logger = logging.getLogger(__name__)


def http_app() -> FastAPI:
    app = FastAPI(title="syncer", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/metrics")
    async def metrics() -> Response:
        """Prometheus metrics of this process."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


class Syncer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._http: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = uvicorn.Config(
            http_app(),
            host=self.settings.bind_host,
            port=self.settings.syncer_http_port,
            log_config=None,
        )
        self._http = uvicorn.Server(config)
        self._task = asyncio.create_task(self._http.serve())
        logger.info("syncer serving HTTP on %s", self.settings.syncer_http_port)

    async def wait(self) -> None:
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        if self._http is not None and self._task is not None:
            self._http.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
