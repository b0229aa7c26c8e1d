"""Compile the test protos with grpc_tools.protoc into a directory and import them."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import grpc_tools
from grpc_tools import protoc

PROTOS = Path(__file__).parent / "protos"


def _include_dirs() -> list[str]:
    import google.api

    wkt = Path(grpc_tools.__file__).parent / "_proto"
    googleapis = Path(google.api.__path__[0]).parent.parent  # site-packages
    return [str(PROTOS), str(wkt), str(googleapis)]


def compile_protos(out_dir: Path, name: str) -> tuple[ModuleType, ModuleType]:
    """`<name>_pb2` and `<name>_pb2_grpc` built from `protos/<name>.proto` into out_dir."""
    args = ["protoc", *(f"-I{d}" for d in _include_dirs())]
    args += [
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        str(PROTOS / f"{name}.proto"),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed for {name}.proto")

    if str(out_dir) not in sys.path:
        sys.path.insert(0, str(out_dir))
    return importlib.import_module(f"{name}_pb2"), importlib.import_module(f"{name}_pb2_grpc")
