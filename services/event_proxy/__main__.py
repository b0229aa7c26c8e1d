"""`python -m services.event_proxy`: run event-proxy until SIGTERM or SIGINT.

The token is `WORKBENCH_EVENT_PROXY_TOKEN`, else `WORKBENCH_INTERNAL_TOKEN`, else (sandbox
mode) the internal token kept in the state directory's secrets file. The event loop is
uvloop when installed: it roughly halves the loop's share of the CPU per event.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from pydantic import SecretStr

from libs.common import log
from libs.common.config import get_settings
from services.event_proxy.app import EventProxy
from services.event_proxy.settings import EventProxySettings

logger = logging.getLogger(__name__)


async def main() -> None:
    common = get_settings()
    log.configure(common.log_level, common.log_format)
    settings = EventProxySettings()
    if settings.token is None and common.internal_token:
        settings = settings.model_copy(update={"token": SecretStr(common.internal_token)})
    if settings.token is None:
        logger.warning("no token configured: devops-server will refuse the events it is sent")

    proxy = EventProxy(settings)
    await proxy.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await proxy.stop()


def run() -> None:
    """Run `main` on uvloop when it is installed (it comes with uvicorn[standard])."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())


if __name__ == "__main__":
    run()
