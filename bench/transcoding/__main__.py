"""`python -m bench.transcoding [--requests N] [--concurrency C] [--body]`: REST vs gRPC on
loopback, for a read or (`--body`) a write with a JSON body."""

from __future__ import annotations

import argparse
import asyncio

from bench.transcoding.setup import run


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.transcoding")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--body", action="store_true", help="CreateItem with a JSON body")
    args = parser.parse_args()
    print(asyncio.run(run(args.requests, args.concurrency, body=args.body)))


if __name__ == "__main__":
    main()
