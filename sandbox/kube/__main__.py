"""`python -m sandbox.kube`: serve one stand-in cluster until interrupted (for `make run`).

    python -m sandbox.kube --name member-1 --port 6443 --kubeconfig /tmp/member-1.yaml \
        [--control-plane] [--state DIR] [--token TOKEN]

The kubeconfig is written once the port is bound, so a launcher can wait for the file to
appear and then hand it to Workbench. Without `--token` a random one is made; it is written
to the kubeconfig only, never logged. SIGINT and SIGTERM stop the server and, with
`--state`, write the objects to DIR/state.json for the next start.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from libs.common.log import configure
from sandbox.kube._standin import KubeStandIn

logger = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox.kube", description=__doc__)
    parser.add_argument("--name", default="member-1", help="cluster name (kubeconfig context)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--kubeconfig", required=True, help="where to write the kubeconfig")
    parser.add_argument(
        "--control-plane",
        action="store_true",
        help="install Argo CD, Argo Rollouts and KubeVela as on the control-plane cluster",
    )
    parser.add_argument("--state", help="directory that keeps the objects across restarts")
    parser.add_argument("--token", help="bearer token to accept (default: a random one)")
    parser.add_argument("--log-level", default="INFO")
    return parser


async def serve(args: argparse.Namespace) -> None:
    standin = KubeStandIn(
        args.name, control_plane=args.control_plane, token=args.token, state_dir=args.state
    )
    await standin.start(port=args.port)
    standin.write_kubeconfig(args.kubeconfig)
    logger.info("cluster %s ready; kubeconfig written to %s", args.name, args.kubeconfig)

    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    try:
        await stopped.wait()
    finally:
        await standin.stop()


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    configure(args.log_level)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
