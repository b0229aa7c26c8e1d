"""`python -m services.devops_server`: run devops-server until stopped."""

from __future__ import annotations

import asyncio

from libs.common import log
from libs.common.config import get_settings
from services.devops_server.app import DevopsServer


async def main() -> None:
    settings = get_settings()
    log.configure(settings.log_level, settings.log_format)
    server = DevopsServer(settings)
    await server.start()
    try:
        await server.wait()
    finally:
        await server.stop()


if __name__ == "__main__":
    asyncio.run(main())
