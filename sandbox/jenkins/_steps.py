"""The atom steps a stand-in pipeline can run, and what each does to the log and the result.

Each step imitates its real counterpart's effect on the run: what it prints, whether it fails
the step (`StepFailed`), marks the stage and run UNSTABLE, pauses (`input`), or records files.
Commands are never executed. `sh` (and `bat`) follow this convention instead:

- the script is read line by line, as `sh -xe` would run it: blank lines and `#` comments are
  skipped, `$NAME` / `${NAME}` expand from the build environment, and each command is traced
  as `+ command`;
- `bat` reads it as cmd does: `::` lines are skipped, `rem` does nothing, each command is
  echoed as `C:\\workspace>command` until `echo off` (one starting with `@` is not), and
  command names ignore case;
- `echo WORDS` prints the words; `echo WORDS > FILE` (or `>>`) writes the workspace file;
- `cat FILE` prints a workspace file (a missing file fails with exit code 1);
- `sleep N` waits N seconds of (scaled) time;
- `exit N` ends the script with code N (in `bat` also `exit /b N`, any letter case),
  `false` with 1, `true` does nothing;
- any other command succeeds silently.
A non-zero exit code fails the step with `script returned exit code N` unless
`returnStatus: true` is given, exactly as the real step reports it.

Files come from the real `writeFile file:, text:` step (or `echo ... > file`) into the run's
workspace; `junit` and `archiveArtifacts` match Ant-style globs (`**/*.xml`) over them.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sandbox.jenkins._clock import time_span as clock_time_span
from sandbox.jenkins._context import Context, Interrupted, StepFailed
from sandbox.jenkins._model import InputRequest, TestCase, TestSuite, worse
from sandbox.jenkins._values import stringify

StepFunction = Callable[[Context, dict[str, Any]], Awaitable[None]]

_UNITS = {
    "NANOSECONDS": 1e-9,
    "MICROSECONDS": 1e-6,
    "MILLISECONDS": 1e-3,
    "SECONDS": 1.0,
    "MINUTES": 60.0,
    "HOURS": 3600.0,
    "DAYS": 86400.0,
}


@dataclass(frozen=True)
class StepKind:
    """An atom step: its DSL name, display name, positional argument, implementation."""

    name: str
    display_name: str
    positional: str
    run: StepFunction


def seconds(amount: Any, unit: Any) -> float:
    return float(amount) * _UNITS.get(str(unit or "SECONDS").upper(), 1.0)


def time_span(virtual_seconds: float) -> str:
    """Jenkins's time span of a step's duration (`10 sec`, `5 min 0 sec`, `1 hr 0 min`)."""
    return clock_time_span(round(virtual_seconds * 1000))


def mark_unstable(ctx: Context, message: str | None = None) -> None:
    """What `unstable` and failing tests do: the step, stage and run become UNSTABLE."""
    if message:
        ctx.line(f"WARNING: {message}")
    if ctx.step is not None:
        ctx.step.result = worse(ctx.step.result, "UNSTABLE")
    if ctx.stage is not None:
        ctx.stage.result = worse(ctx.stage.result, "UNSTABLE")
    ctx.run.result = worse(ctx.run.result, "UNSTABLE")


def glob_regex(pattern: str) -> re.Pattern[str]:
    """An Ant-style glob (`**/*.xml`, `build/*.jar`) as a regular expression."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def match_files(ctx: Context, patterns: str) -> list[str]:
    regexes = [glob_regex(p.strip()) for p in patterns.split(",") if p.strip()]
    return sorted(path for path in ctx.run.workspace if any(r.match(path) for r in regexes))


def workspace_path(ctx: Context, path: str) -> str:
    path = path.strip().lstrip("./") if path.startswith("./") else path.strip()
    return f"{ctx.directory}{path}" if ctx.directory else path


async def echo(ctx: Context, args: dict[str, Any]) -> None:
    ctx.line(stringify(args.get("message", "")))


async def error(ctx: Context, args: dict[str, Any]) -> None:
    raise StepFailed(stringify(args.get("message", "")))


async def unstable(ctx: Context, args: dict[str, Any]) -> None:
    mark_unstable(ctx, stringify(args.get("message", "")))


async def sleep(ctx: Context, args: dict[str, Any]) -> None:
    duration = seconds(args.get("time", 0), args.get("unit"))
    ctx.line(f"Sleeping for {time_span(duration)}")
    await ctx.sleep(duration)


async def sh(ctx: Context, args: dict[str, Any]) -> None:
    await _shell(ctx, args, windows=False)


async def bat(ctx: Context, args: dict[str, Any]) -> None:
    await _shell(ctx, args, windows=True)


async def _shell(ctx: Context, args: dict[str, Any], *, windows: bool) -> None:
    code = 0
    scope = ctx.scope
    echo_on = True

    for raw in stringify(args.get("script", "")).splitlines():
        command = raw.strip()
        if not command or command.startswith("::" if windows else "#"):
            continue
        command = scope.expand_shell(command)
        if not windows:
            ctx.line(f"+ {command}")
        elif command.lower().lstrip("@") in ("echo off", "echo on"):
            echo_on = command.lower().endswith("on")
            continue
        elif command.startswith("@"):
            command = command[1:]
        elif echo_on:
            ctx.line(f"\nC:\\workspace>{command}")
        try:
            words = shlex.split(command)
        except ValueError:
            words = command.split()
        code = await _command(ctx, _batch_words(words) if windows else words)
        if code != 0:
            break

    if code != 0 and not args.get("returnStatus"):
        raise StepFailed(f"script returned exit code {code}")


def _batch_words(words: list[str]) -> list[str]:
    """A `bat` command in the `sh` vocabulary: names ignore case, `exit /b N` is `exit N`."""
    if not words:
        return words
    name, rest = words[0].lower(), words[1:]
    if name == "rem":
        return []
    if name == "exit" and rest and rest[0].lower() == "/b":
        rest = rest[1:]
    return [name, *rest]


async def _command(ctx: Context, words: list[str]) -> int:
    if not words:
        return 0
    name, rest = words[0], words[1:]
    if name == "exit":
        return int(rest[0]) if rest and rest[0].lstrip("-").isdigit() else 0
    if name == "false":
        return 1
    if name == "sleep" and rest:
        await ctx.sleep(float(rest[0].rstrip("s") or 0))
    elif name == "echo":
        _echo(ctx, rest)
    elif name == "cat":
        for path in rest:
            content = ctx.run.workspace.get(workspace_path(ctx, path))
            if content is None:
                ctx.line(f"cat: {path}: No such file or directory")
                return 1
            ctx.write(content.decode("utf-8", "replace"))
    return 0


def _echo(ctx: Context, words: list[str]) -> None:
    for index, word in enumerate(words):
        if word.startswith(">"):
            append = word.startswith(">>")
            target = word.lstrip(">") or (words[index + 1] if index + 1 < len(words) else "")
            text = (" ".join(words[:index]) + "\n").encode("utf-8")
            path = workspace_path(ctx, target)
            previous = ctx.run.workspace.get(path, b"") if append else b""
            ctx.run.workspace[path] = previous + text
            return
    ctx.line(" ".join(words))


async def write_file(ctx: Context, args: dict[str, Any]) -> None:
    path = workspace_path(ctx, stringify(args.get("file", "")))
    ctx.run.workspace[path] = stringify(args.get("text", "")).encode("utf-8")


async def read_file(ctx: Context, args: dict[str, Any]) -> None:
    path = workspace_path(ctx, stringify(args.get("file", "")))
    if path not in ctx.run.workspace:
        raise StepFailed(f"No such file: {path}", "java.nio.file.NoSuchFileException")


async def delete_dir(ctx: Context, args: dict[str, Any]) -> None:
    prefix = ctx.directory
    for path in [p for p in ctx.run.workspace if p.startswith(prefix)]:
        del ctx.run.workspace[path]


async def archive_artifacts(ctx: Context, args: dict[str, Any]) -> None:
    ctx.line("Archiving artifacts")
    pattern = stringify(args.get("artifacts", ""))
    paths = match_files(ctx, pattern)
    if not paths and not args.get("allowEmptyArchive"):
        raise StepFailed(
            f'No artifacts found that match the file pattern "{pattern}". Configuration error?'
        )
    for path in paths:
        ctx.run.artifacts[path] = ctx.run.workspace[path]


async def junit(ctx: Context, args: dict[str, Any]) -> None:
    ctx.line("Recording test results")
    pattern = stringify(args.get("testResults", ""))
    paths = match_files(ctx, pattern)
    if not paths:
        if args.get("allowEmptyResults"):
            ctx.line("None of the test reports contained any result")
            return
        raise StepFailed("No test report files were found. Configuration error?")

    suites: list[TestSuite] = []
    for path in paths:
        try:
            suites.extend(parse_junit(ctx.run.workspace[path]))
        except ET.ParseError as exc:
            raise StepFailed(f"Failed to read test report file {path}: {exc}") from exc
    ctx.run.tests = (ctx.run.tests or []) + suites

    failed = sum(1 for s in suites for c in s.cases if c.status == "FAILED")
    if failed:
        mark_unstable(ctx)


def parse_junit(data: bytes) -> list[TestSuite]:
    root = ET.fromstring(data)
    elements = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    suites = []
    for element in elements:
        suite = TestSuite(
            name=element.get("name", ""),
            duration=float(element.get("time", "0") or 0),
            timestamp=element.get("timestamp"),
        )
        for case in element.iter("testcase"):
            failure = case.find("failure")
            if failure is None:
                failure = case.find("error")
            status = "PASSED"
            if failure is not None:
                status = "FAILED"
            elif case.find("skipped") is not None:
                status = "SKIPPED"
            suite.cases.append(
                TestCase(
                    class_name=case.get("classname", ""),
                    name=case.get("name", ""),
                    status=status,
                    duration=float(case.get("time", "0") or 0),
                    error_details=None if failure is None else failure.get("message", ""),
                )
            )
        suites.append(suite)
    return suites


def input_id(message: str, explicit: str | None) -> str:
    """Jenkins's input id: the given one or the MD5 of the message, first letter capitalised."""
    raw = explicit or hashlib.md5(message.encode("utf-8")).hexdigest()
    return raw[:1].upper() + raw[1:]


async def input_step(ctx: Context, args: dict[str, Any]) -> None:
    message = stringify(args.get("message", ""))
    ok = stringify(args.get("ok") or "Proceed")
    node = ctx.step
    assert node is not None
    request = InputRequest(
        id=input_id(message, args.get("id")),
        message=message,
        node_id=node.id,
        ok=ok,
        submitter=args.get("submitter"),
        outcome=asyncio.get_running_loop().create_future(),
    )
    node.input_id = request.id
    ctx.run.inputs[request.id] = request
    ctx.line(message)
    ctx.line(f"{ok} or Abort")

    node.state = "paused"
    node.paused_since = ctx.clock.now_ms()
    try:
        assert request.outcome is not None
        proceed, user, values = await ctx.interruptible(request.outcome)
    finally:
        node.state = "running"
        if node.paused_since is not None:
            node.pause_ms += ctx.clock.now_ms() - node.paused_since
            node.paused_since = None
        request.outcome = None
        ctx.run.inputs.pop(request.id, None)

    if not proceed:
        ctx.line(f"Rejected by {user}")
        raise Interrupted(f"Rejected by {user}")
    ctx.line(f"Approved by {user}")
    for name, value in values.items():
        ctx.env[name] = stringify(value)


async def checkout(ctx: Context, args: dict[str, Any]) -> None:
    url = stringify(args.get("url") or ctx.env.get("GIT_URL", ""))
    ctx.line("The recommended git tool is: NONE")
    ctx.line(f"Cloning the remote Git repository\nCloning repository {url}")


async def quiet(ctx: Context, args: dict[str, Any]) -> None:
    """Steps whose only effect is outside the build (mail, notifications)."""


STEPS: dict[str, StepKind] = {
    kind.name: kind
    for kind in (
        StepKind("echo", "Print Message", "message", echo),
        StepKind("error", "Error signal", "message", error),
        StepKind("unstable", "Set stage result to unstable", "message", unstable),
        StepKind("sleep", "Sleep", "time", sleep),
        StepKind("sh", "Shell Script", "script", sh),
        StepKind("bat", "Windows Batch Script", "script", bat),
        StepKind("writeFile", "Write file to workspace", "file", write_file),
        StepKind("readFile", "Read file from workspace", "file", read_file),
        StepKind("deleteDir", "Recursively delete the current directory", "", delete_dir),
        StepKind("cleanWs", "Delete workspace when build is done", "", delete_dir),
        StepKind("archiveArtifacts", "Archive the artifacts", "artifacts", archive_artifacts),
        StepKind("junit", "Archive JUnit-formatted test results", "testResults", junit),
        StepKind("input", "Wait for interactive input", "message", input_step),
        StepKind("checkout", "Check out from version control", "scm", checkout),
        StepKind("git", "Git", "url", checkout),
        StepKind("mail", "Mail", "to", quiet),
    )
}


def describe(name: str, args: dict[str, Any]) -> str | None:
    """The argument summary Jenkins shows beside a step (`parameterDescription`)."""
    keys = {
        "echo": "message",
        "sh": "script",
        "bat": "script",
        "error": "message",
        "input": "message",
        "writeFile": "file",
        "readFile": "file",
        "archiveArtifacts": "artifacts",
        "junit": "testResults",
        "unstable": "message",
    }
    if name == "sleep":
        return stringify(args.get("time", ""))
    key = keys.get(name)
    return stringify(args[key]) if key and key in args else None
