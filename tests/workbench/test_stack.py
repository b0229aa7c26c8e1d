"""`workbench run`'s embedded PostgreSQL: Ctrl-C stops it, and its data stays for the next run.

`run` is driven in a child process with the services replaced by one sleeping child (the
processes themselves have tests of their own), so the signal, the supervisor and the way out
are the real ones.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from pathlib import Path

import asyncpg

from libs.common.config import Settings
from workbench import stack

ROOT = Path(__file__).resolve().parents[2]

RUN = textwrap.dedent(
    """
    import asyncio, subprocess, sys
    import asyncpg
    from libs.common.config import Settings
    from workbench import stack

    async def remember(url):
        connection = await asyncpg.connect(url)
        await connection.execute("CREATE TABLE kept (note text)")
        await connection.execute("INSERT INTO kept VALUES ('still here')")
        await connection.close()

    def services(settings, url):
        asyncio.run(remember(url))
        # The child says "up" once the supervisor is surely watching, as Ctrl-C finds it.
        child = subprocess.Popen(["sh", "-c", "sleep 0.5; echo up; exec sleep 60"])
        return stack._supervise([child])

    stack._run = services
    sys.exit(stack.run(Settings(state_dir=sys.argv[1])))
    """
)


def postmaster_pid(state: Path) -> int | None:
    pid_file = state / "pgdata" / "postmaster.pid"
    return int(pid_file.read_text().split()[0]) if pid_file.exists() else None


def running(pid: int) -> bool:
    """Whether `pid` is alive: a zombie waiting for init to reap it is not (Linux)."""
    status = Path(f"/proc/{pid}/status")
    try:
        states = [line for line in status.read_text().splitlines() if line.startswith("State:")]
    except FileNotFoundError:
        return False
    return bool(states) and "zombie" not in states[0]


async def test_ctrl_c_stops_the_embedded_database_and_keeps_its_data(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env.pop("DATABASE_URL", None)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RUN, str(state), cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE
    )
    assert child.stdout is not None
    assert await asyncio.wait_for(child.stdout.readline(), 90) == b"up\n"
    server = postmaster_pid(state)
    assert server is not None and running(server)

    child.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(child.wait(), 30) == 0

    for _ in range(300):
        if not running(server):
            break
        await asyncio.sleep(0.1)
    assert not running(server)
    assert postmaster_pid(state) is None

    with stack.embedded_database(Settings(state_dir=state)) as url:
        connection = await asyncpg.connect(url)
        notes = await connection.fetch("SELECT note FROM kept")
        await connection.close()
        again = postmaster_pid(state)
    assert [row["note"] for row in notes] == ["still here"]
    assert again is not None and not running(again)


async def test_a_holder_that_died_does_not_keep_the_database_running(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with stack.embedded_database(Settings(state_dir=state)):
        pass
    holders = state / "pgdata" / ".handle_pids.json"
    dead = await asyncio.create_subprocess_exec("true")
    await dead.wait()
    holders.write_text(f"[{dead.pid}]")  # as a `workbench run` killed with SIGKILL leaves it

    with stack.embedded_database(Settings(state_dir=state)):
        server = postmaster_pid(state)
        assert server is not None and running(server)

    assert not running(server)
