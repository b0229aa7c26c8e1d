"""`python -m bench.transcoding.decode`: what decoding one JSON request body costs.

The end-to-end bench cannot see a few microseconds under the scheduling noise of two
processes on loopback, so this one times the gateway's body step alone (`parse_body`, JSON
text to request message), in-process, for the bench's `CreateItem` binding: a small body of
a handful of fields (`small`), one with proto field names (`snake`: an underscore in a body
makes the gateway look for a field given under both its names) and a large one of a few
hundred labels and annotations. Each figure is the best of several rounds, per call.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from google.protobuf import descriptor_pool

from bench.transcoding.setup import compile_bench_proto
from libs.transcoding._codec import parse_body
from libs.transcoding._rules import Binding, bindings_for_services

SERVICE = "workbench.bench.transcoding.v1.Items"


def _bodies() -> dict[str, bytes]:
    item = {
        "name": "item-1",
        "workspaceId": "ws-1",
        "revision": "42",
        "labels": ["a", "b"],
        "createdAt": "2023-11-14T22:13:20Z",
    }
    small = {"item": item, "annotations": {"owner": "team-a"}}
    proto_names = {
        "item": {"workspace_id": "ws-1", "created_at": "2023-11-14T22:13:20Z", "name": "item-1"},
        "annotations": {"owner": "team_a"},
    }
    large = {
        "item": {**item, "labels": [f"label-{n}" for n in range(300)]},
        "annotations": {f"key-{n}": f"value-{n}" for n in range(300)},
    }
    return {
        "small": json.dumps(small).encode(),
        "snake": json.dumps(proto_names).encode(),
        "large": json.dumps(large).encode(),
    }


def _binding() -> Binding:
    service = descriptor_pool.Default().FindServiceByName(SERVICE)
    for binding in bindings_for_services([service]):
        if binding.method.name == "CreateItem":
            return binding
    raise RuntimeError("the bench proto has no CreateItem binding")


def measure(rounds: int, calls: int) -> str:
    compile_bench_proto(Path(tempfile.mkdtemp(prefix="bench_decode_")))
    binding = _binding()
    lines = []

    for name, body in _bodies().items():
        best = float("inf")
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(calls):
                parse_body(binding.request_class(), binding, body)
            best = min(best, (time.perf_counter() - started) / calls)
        lines.append(f"{name:<6} body {len(body):>6} bytes: {best * 1e6:8.1f} us per decode")

    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.transcoding.decode")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    print(measure(args.rounds, args.calls))


if __name__ == "__main__":
    main()
