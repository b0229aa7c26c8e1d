"""devops-server stops even when its loops are woken in the same moment as they are stopped.

On Python 3.11, `asyncio.wait_for` returns the awaited result and drops a cancellation that
arrives while that result is being delivered, so a loop woken and cancelled together went on
looping and `stop()` waited for it for ever.
"""

from __future__ import annotations

import asyncio

from services.devops_server.app import DevopsServer
from tests.conftest import stack_settings


async def test_loops_woken_as_the_server_stops_still_stop(database_url: str) -> None:
    for _ in range(3):
        server = DevopsServer(stack_settings(database_url))
        await server.start()
        await asyncio.sleep(0.2)  # every loop is waiting for its next pass

        server.resync.kick()
        server.pipeline_sync.kick()
        server.dispatcher.kick()
        async with asyncio.timeout(15):
            await server.stop()
