"""`python -m services.syncer`: run the syncer until stopped."""

from __future__ import annotations

import asyncio

from libs.common import log
from libs.common.config import get_settings
from services.syncer.app import Syncer


async def main() -> None:
    settings = get_settings()
    log.configure(settings.log_level, settings.log_format)
    syncer = Syncer(settings)
    await syncer.start()
    try:
        await syncer.wait()
    finally:
        await syncer.stop()


if __name__ == "__main__":
    asyncio.run(main())
