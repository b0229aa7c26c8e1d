"""`JenkinsStandIn`: starts the emulated Jenkins on a socket and exposes the test knobs.

The server is an aiohttp application run by an `AppRunner` inside the caller's event loop, so
tests start it on a free port without threads. The state lives in a `Jenkins` controller that
outlives the HTTP listener: `restart()` closes the listener (dropping every open connection)
and opens a new one on the same port, keeping items, runs and credentials, and letting running
builds carry on, as durable pipelines do across a real restart; queue items that had left the
queue are forgotten, as a real restart forgets them (they are otherwise kept for
`left_item_retention` seconds of virtual time, five minutes as in Jenkins). With a state
directory the state is also saved to disk after every change and loaded at start.

Fault knobs, for tests of Workbench's resilience:
- `down()` / `up()`: the port refuses connections until brought back up;
- `slow(seconds)`: every response is delayed (real seconds, not scaled);
- `fail_with(status, times=None)`: answer every request (or the next `times`) with `status`;
- `drop_events(*types)`: the Generic Event plugin silently loses those event types;
- `heal()`: all of the above cleared.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.jenkins import _casc, _persist
from sandbox.jenkins._clock import Clock
from sandbox.jenkins._http import crumb_for, make_app
from sandbox.jenkins._jenkins import Jenkins
from sandbox.jenkins._model import Folder, Item, PipelineJob, Run

logger = logging.getLogger(__name__)


@dataclass
class Knobs:
    """The fault knobs the HTTP middleware reads on every request."""

    delay: float = 0.0
    status: int | None = None
    remaining: int | None = None

    def take_failure(self) -> bool:
        if self.remaining is None:
            return True
        if self.remaining <= 0:
            self.status = None
            return False
        self.remaining -= 1
        return True


class JenkinsStandIn:
    """A local Jenkins that real clients cannot tell from the real thing (for what we use)."""

    def __init__(
        self,
        *,
        admin_user: str = "admin",
        admin_password: str | None = None,
        api_token: str | None = None,
        time_scale: float = 1.0,
        quiet_period: float | None = None,
        left_item_retention: float | None = None,
        state_dir: str | Path | None = None,
        casc_path: str | Path | None = None,
        casc_reload_token: str | None = None,
    ) -> None:
        self.clock = Clock(time_scale)
        self.jenkins = Jenkins(
            self.clock,
            admin_user=admin_user,
            admin_password=admin_password,
            api_token=api_token,
        )
        if quiet_period is not None:
            self.jenkins.settings.quiet_period = quiet_period
        if left_item_retention is not None:
            self.jenkins.left_item_retention = left_item_retention
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.casc_path = str(casc_path) if casc_path is not None else None
        self.casc_reload_token = casc_reload_token
        self.knobs = Knobs()
        self.session_id = secrets.token_hex(4)
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._save_task: asyncio.Task[None] | None = None

    # Lifecycle.

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on `host:port` (0 = a free port) and return the base URL."""
        if self.state_dir is not None:
            if _persist.load(self.jenkins, self.state_dir):
                self.clock = self.jenkins.clock
            self.jenkins.on_change = self._schedule_save
        if self.casc_path:
            self.reload_casc()
        self._host, self._port = host, port
        await self._listen()
        return self.url

    async def _listen(self) -> None:
        runner = web.AppRunner(make_app(self), access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port, reuse_address=True)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self._port = sockets[0].getsockname()[1]
        self._runner = runner
        self.jenkins.server_url = self.url
        self.jenkins.events.referrer = self.jenkins.root_url()
        logger.info("Jenkins stand-in listening on %s", self.url)

    async def stop(self) -> None:
        """Stop listening, end running builds, flush events and state."""
        await self.down()
        for run in self.jenkins.running():
            if run.task is not None:
                run.task.cancel()
        await asyncio.sleep(0)
        await self.jenkins.events.close()
        if self._save_task is not None:
            await asyncio.gather(self._save_task, return_exceptions=True)
        if self.state_dir is not None:
            _persist.save(self.jenkins, self.state_dir)

    async def restart(self, *, downtime: float = 0.0) -> None:
        """Go away and come back on the same port, with the same state."""
        await self.down()
        if self.state_dir is not None:
            _persist.save(self.jenkins, self.state_dir)
        await asyncio.sleep(downtime)
        self.session_id = secrets.token_hex(4)
        self.jenkins.forget_left_items()
        await self.up()

    async def down(self) -> None:
        """Refuse connections (and drop the open ones) until `up()`."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            logger.info("Jenkins stand-in down")

    async def up(self) -> None:
        if self._runner is None:
            await self._listen()

    # Fault knobs.

    def slow(self, seconds: float) -> None:
        self.knobs.delay = seconds

    def fail_with(self, status: int | None, *, times: int | None = None) -> None:
        self.knobs.status = status
        self.knobs.remaining = times

    def drop_events(self, *types: str) -> None:
        self.jenkins.events.drop = set(types)

    def heal(self) -> None:
        self.knobs = Knobs()
        self.jenkins.events.drop = set()

    # Properties.

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}/"

    @property
    def port(self) -> int:
        return self._port

    @property
    def admin_user(self) -> str:
        return self.jenkins.admin_user

    @property
    def admin_password(self) -> str:
        return self.jenkins.admin_password

    @property
    def api_token(self) -> str:
        return self.jenkins.api_token

    @property
    def time_scale(self) -> float:
        return self.clock.scale

    @time_scale.setter
    def time_scale(self, value: float) -> None:
        self.clock.scale = value

    @property
    def receiver(self) -> str | None:
        return self.jenkins.events.receiver

    @receiver.setter
    def receiver(self, url: str | None) -> None:
        self.jenkins.events.receiver = url

    def crumb(self, user: str | None = None) -> str:
        return crumb_for(self.jenkins, user or self.admin_user)

    # Configuration as Code.

    def apply_casc(self, text: str) -> None:
        _casc.apply(self.jenkins, text)

    def reload_casc(self) -> None:
        """Re-read the CasC source (a file, or a directory of YAML files), else re-apply."""
        if not self.casc_path:
            if self.jenkins.casc_yaml:
                _casc.apply(self.jenkins, self.jenkins.casc_yaml)
            return
        path = Path(self.casc_path)
        files = sorted(path.glob("*.y*ml")) if path.is_dir() else [path]
        for file in files:
            _casc.apply(self.jenkins, file.read_text(encoding="utf-8"))

    def check_casc_source(self, source: str) -> str | None:
        path = Path(source)
        if not path.exists():
            return f"The source {source} does not exist"
        return None

    # Test hooks.

    def seed_scm(self, url: str, branch: str, files: dict[str, str]) -> None:
        """Files a `CpsScmFlowDefinition` job finds in `url` at `branch` (e.g. a Jenkinsfile)."""
        self.jenkins.scm_files[(url, branch)] = dict(files)

    def item(self, full_name: str) -> Item | None:
        return self.jenkins.lookup(full_name)

    def folder(self, full_name: str) -> Folder:
        item = self.jenkins.lookup(full_name)
        if not isinstance(item, Folder):
            raise KeyError(full_name)
        return item

    def run(self, full_name: str, number: int) -> Run:
        job = self.jenkins.job(full_name)
        return job.runs[number]

    def create_job(self, full_name: str, xml: str) -> PipelineJob:
        """Create a job (and missing folders) without an HTTP request."""
        parent = self.jenkins.root
        *folders, name = full_name.strip("/").split("/")
        for folder_name in folders:
            child = parent.children.get(folder_name)
            if child is None:
                child = self.jenkins.create_folder(parent, folder_name)
            assert isinstance(child, Folder)
            parent = child
        job = self.jenkins.create_item(parent, name, xml)
        assert isinstance(job, PipelineJob)
        return job

    @property
    def events_sent(self) -> list[dict[str, Any]]:
        return self.jenkins.events.sent

    async def drain_events(self) -> None:
        await self.jenkins.events.drain()

    async def wait_for_run(self, full_name: str, number: int, *, within: float = 10.0) -> Run:
        """Wait until a run exists and has finished (real seconds)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            job = self.jenkins.lookup(full_name)
            if isinstance(job, PipelineJob) and number in job.runs:
                run = job.runs[number]
                if not run.building:
                    return run
            await asyncio.sleep(0.01)
        raise TimeoutError(f"{full_name} #{number} did not finish in {within} s")

    # Persistence.

    def _schedule_save(self) -> None:
        if self.state_dir is None or (self._save_task is not None and not self._save_task.done()):
            return
        self._save_task = asyncio.get_running_loop().create_task(self._save_soon())

    async def _save_soon(self) -> None:
        await asyncio.sleep(0.2)
        if self.state_dir is not None:
            _persist.save(self.jenkins, self.state_dir)
