"""`python -m services.apiserver`: run the apiserver until stopped."""

from __future__ import annotations

import asyncio

from libs.common import log
from libs.common.config import get_settings
from services.apiserver.app import ApiServer


async def main() -> None:
    settings = get_settings()
    log.configure(settings.log_level, settings.log_format)
    server = ApiServer(settings)
    await server.start()
    try:
        await server.wait()
    finally:
        await server.stop()


if __name__ == "__main__":
    asyncio.run(main())
