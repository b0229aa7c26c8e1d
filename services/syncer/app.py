"""syncer: the reconciliation loops that keep Jenkins, Argo CD and KubeVela consistent.

This process serves health, readiness and metrics on its HTTP port. It runs no reconciler
yet: the loops, their work queue and the leader election are the next piece of work (see
docs/development.md, "What is built").
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from libs.common.config import Settings
from libs.common.http_server import BackgroundHttp

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
        self._http = BackgroundHttp(http_app(), settings.bind_host, settings.syncer_http_port)
        self.http_port = 0

    async def start(self) -> None:
        self.http_port = await self._http.start()
        logger.info("syncer serving HTTP on %s", self.http_port)

    async def wait(self) -> None:
        await self._http.wait()

    async def stop(self) -> None:
        await self._http.stop()
