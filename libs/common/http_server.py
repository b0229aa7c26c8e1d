"""An ASGI app served by uvicorn inside the caller's event loop, as every process does."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn

from libs.common.background import ended


class BackgroundHttp:
    """Serve `app` on `host:port` (0: any free port) until `stop`.

    `stop` lets requests in progress finish for up to `shutdown_grace` seconds and then
    cancels them: uvicorn's default waits for ever, so one client that never finishes sending
    its body would keep the process from stopping.
    """

    def __init__(self, app: Any, host: str, port: int, *, shutdown_grace: int = 5) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=shutdown_grace,
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self) -> int:
        """Start serving; the bound port once the socket listens."""
        self._task = asyncio.create_task(self._serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the HTTP server stopped while starting")
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self.port

    async def _serve(self) -> None:
        # uvicorn exits the process when it cannot bind; here that is an error of this
        # server alone, not a SystemExit that would end the event loop running the others.
        try:
            await self._server.serve()
        except SystemExit as error:
            config = self._server.config
            raise OSError(f"could not serve HTTP on {config.host}:{config.port}") from error

    async def wait(self) -> None:
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        await ended(self._task)
