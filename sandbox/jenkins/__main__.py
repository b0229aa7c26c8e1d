"""`python -m sandbox.jenkins --port 8180 --state DIR`: the stand-in for `make run`.

Prints the base URL, the admin user and its API token on start (the token is kept in the
state directory, so it stays the same across restarts), then serves until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal

from sandbox.jenkins._server import JenkinsStandIn

logger = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox.jenkins", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8180)
    parser.add_argument("--state", help="directory where state is kept across restarts")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default=os.environ.get("JENKINS_STANDIN_PASSWORD"))
    parser.add_argument("--token", default=os.environ.get("JENKINS_STANDIN_TOKEN"))
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--casc", default=os.environ.get("CASC_JENKINS_CONFIG"))
    parser.add_argument("--casc-reload-token", default=os.environ.get("CASC_RELOAD_TOKEN"))
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    standin = JenkinsStandIn(
        admin_user=args.user,
        admin_password=args.password,
        api_token=args.token,
        time_scale=args.time_scale,
        state_dir=args.state,
        casc_path=args.casc,
        casc_reload_token=args.casc_reload_token,
    )
    url = await standin.start(args.host, args.port)
    print(f"Jenkins stand-in at {url} user={standin.admin_user} token={standin.api_token}")

    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    await stopped.wait()
    await standin.stop()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
