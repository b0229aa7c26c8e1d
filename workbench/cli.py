"""The `workbench` command: run the local stack, mint sandbox tokens, migrate.

    workbench run            start every process (what `make run` does)
    workbench migrate        bring the database schema to head
    workbench token --user N print a bearer token for N (sandbox mode only)
    workbench sandbox-info   print how to reach the sandbox Jenkins and clusters, as JSON

`run` starts each service as its own process, as they are deployed, and never imports their
code. With no `DATABASE_URL` it starts an embedded PostgreSQL whose data stays in the state
directory, so the stack keeps its state between runs.
"""

from __future__ import annotations

import argparse
import json
import sys

from libs.auth.tokens import mint
from libs.common.config import Settings
from workbench import stack


def _settings() -> Settings:
    """The settings; a state directory where `workbench run` made a sandbox is sandbox mode."""
    settings = Settings()
    if (settings.state_dir / stack.SANDBOX_FILE).exists():
        settings = settings.model_copy(update={"sandbox": True})
    return settings.with_sandbox_secrets()


def cmd_run(args: argparse.Namespace) -> int:
    return stack.run(_settings())


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings()
    if settings.database_url:
        stack.migrate(settings.database_url)
    else:
        with stack.embedded_database(settings) as url:
            stack.migrate(url)
    print("database schema is at head")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    settings = _settings()
    if not settings.sandbox or not settings.jwt_secret:
        print(
            "workbench token works in sandbox mode only (WORKBENCH_SANDBOX=true); "
            "elsewhere tokens come from your identity provider",
            file=sys.stderr,
        )
        return 2
    print(mint(args.user, settings.jwt_secret, ttl_seconds=args.ttl))
    return 0


def cmd_sandbox_info(args: argparse.Namespace) -> int:
    info = stack.sandbox_info(_settings())
    if info is None:
        print("no sandbox is running: start one with `make run`", file=sys.stderr)
        return 1
    print(json.dumps(info, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start the local stack").set_defaults(func=cmd_run)
    commands.add_parser("migrate", help="migrate the database").set_defaults(func=cmd_migrate)
    token = commands.add_parser("token", help="print a sandbox bearer token")
    token.add_argument("--user", required=True)
    token.add_argument("--ttl", type=int, default=7 * 24 * 3600, help="lifetime in seconds")
    token.set_defaults(func=cmd_token)
    info = commands.add_parser("sandbox-info", help="how to reach the sandbox stand-ins")
    info.set_defaults(func=cmd_sandbox_info)

    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
