"""Generate the Python gRPC code and its type stubs from `protos/` into `gen/`.

The generated tree is never committed: the build makes it, so the `.proto` files stay the one
source of the API. `google/api` and `google/rpc` come from googleapis-common-protos, whose
generated modules are imported as they are; only our own files are compiled here.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import grpc_tools
from google.api import annotations_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
OUT = ROOT / "gen"


def main() -> int:
    sources = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir()
    if not sources:
        return 0

    includes = [
        f"-I{PROTOS}",
        f"-I{Path(grpc_tools.__file__).parent / '_proto'}",
        f"-I{Path(annotations_pb2.__file__).parent.parent.parent}",
    ]
    outputs = [
        f"--python_out={OUT}",
        f"--grpc_python_out={OUT}",
        f"--mypy_out={OUT}",
        f"--mypy_grpc_out={OUT}",
    ]
    # The mypy plugins are scripts beside this interpreter.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    code = protoc.main(["protoc", *includes, *outputs, *sources])
    if code != 0:
        print(f"protoc failed with exit code {code}", file=sys.stderr)
        return int(code)

    # Every generated folder becomes a regular package, so mypy and the import linter see it.
    for folder in [OUT, *(p for p in OUT.rglob("*") if p.is_dir())]:
        (folder / "__init__.py").touch()
    (OUT / "__init__.py").unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
