"""`python -m services.syncer`: run the syncer until stopped.

SIGTERM (what `workbench run` and Kubernetes send) stops the syncer cleanly: it releases the
leader lease, so a standby takes over at its next retry instead of waiting for the lease to
expire.
"""

from __future__ import annotations

import asyncio
import signal

from libs.common import log
from libs.common.config import get_settings
from services.syncer.app import Syncer


async def main() -> None:
    settings = get_settings()
    log.configure(settings.log_level, settings.log_format)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)

    syncer = Syncer(settings)
    await syncer.start()
    try:
        serving = asyncio.create_task(syncer.wait())
        stop_asked = asyncio.create_task(stopping.wait())
        await asyncio.wait([serving, stop_asked], return_when=asyncio.FIRST_COMPLETED)
        stop_asked.cancel()
    finally:
        await syncer.stop()


if __name__ == "__main__":
    asyncio.run(main())
