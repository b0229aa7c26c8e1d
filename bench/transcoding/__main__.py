"""`python -m bench.transcoding [--requests N] [--concurrency C]`: REST vs gRPC on loopback."""

from __future__ import annotations

import argparse
import asyncio

from bench.transcoding.setup import run


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.transcoding")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    print(asyncio.run(run(args.requests, args.concurrency)))


if __name__ == "__main__":
    main()
