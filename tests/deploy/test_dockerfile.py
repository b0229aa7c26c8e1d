"""The Dockerfile cannot be built here (no container engine), so its build stage is checked by
reading it: the interpreter that runs `tools/genproto.py` must have every distribution the
script imports, and the protoc plugins it asks for, installed by that stage itself."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENPROTO = ROOT / "tools" / "genproto.py"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def build_stage_commands() -> list[str]:
    """The RUN commands of the `build` stage, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    commands: list[str] = []
    in_build = False
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0].upper() == "FROM":
            in_build = [w.lower() for w in words[-2:]] == ["as", "build"]
        elif in_build and words[0].upper() == "RUN":
            commands.extend(part.strip() for part in line.split(None, 1)[1].split("&&"))
    return commands


def installed_for_the_build_interpreter() -> set[str]:
    """Distributions `pip install` puts into the build stage's own interpreter.

    An install with `--prefix` or `--target` goes elsewhere (the runtime image), so it does
    not count.
    """
    names: set[str] = set()
    for command in build_stage_commands():
        words = shlex.split(command)
        if words[:2] != ["pip", "install"] or {"--prefix", "--target"} & {
            w.split("=")[0] for w in words
        }:
            continue
        arguments = iter(words[2:])
        for word in arguments:
            if word in ("-c", "--constraint", "-r", "--requirement"):
                next(arguments)
            elif not word.startswith("-") and word != ".":
                names.add(_canonical(re.split(r"[<>=!~\[;]", word)[0]))
    return names


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {m for m in modules if m.split(".")[0] not in sys.stdlib_module_names}


def owner_of(module: str) -> str | None:
    """The distribution that installed `module`'s file, None if it is not a module."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return None
    origin = Path(spec.origin).resolve()
    for distribution in importlib.metadata.distributions():
        for file in distribution.files or ():
            if Path(str(distribution.locate_file(file))).resolve() == origin:
                return _canonical(distribution.metadata["Name"])
    raise AssertionError(f"no installed distribution owns {module} ({origin})")


def owner_of_script(name: str) -> str:
    for distribution in importlib.metadata.distributions():
        if any(Path(str(file)).name == name for file in distribution.files or ()):
            return _canonical(distribution.metadata["Name"])
    raise AssertionError(f"no installed distribution provides {name}")


def test_build_stage_installs_every_distribution_genproto_imports() -> None:
    needed = {owner for m in imported_modules(GENPROTO) if (owner := owner_of(m)) is not None}

    assert "googleapis-common-protos" in needed  # the case this test was written for
    assert needed <= installed_for_the_build_interpreter()


def test_build_stage_installs_every_protoc_plugin_genproto_uses() -> None:
    builtin = {"python", "grpc_python", "pyi"}
    plugins = set(re.findall(r"--(\w+)_out=", GENPROTO.read_text())) - builtin
    needed = {owner_of_script(f"protoc-gen-{plugin}") for plugin in plugins}

    assert needed == {"mypy-protobuf"}
    assert needed <= installed_for_the_build_interpreter()


def test_the_parse_sees_the_build_stage_installs() -> None:
    assert "grpcio-tools" in installed_for_the_build_interpreter()
