"""The emulated Jenkins controller: every state change goes through here.

HTTP handlers translate requests into calls on `Jenkins`, and the controller keeps Jenkins's
rules in one place: item names and the folder tree, the queue (quiet period, reuse of an
identical pending item, BlockedItem while a non-concurrent job is building, LeftItem kept
for `left_item_retention` after it leaves the queue, then forgotten), the run lifecycle
with its Generic Event notifications (initialize, started, completed, finalized),
stop/term/kill, input submission, credentials stores, and the settings Configuration as
Code manages.

A `JenkinsError` carries the HTTP status and the message a real server would answer with, so
the HTTP layer has one place to turn failures into responses.

Item events need the URL the plugin computes from the Stapler request's ancestors; callers
pass those ancestors as `origin` (the folders a request walked through), or None for a change
made without an HTTP request (Configuration as Code, test seeding), where the plugin sends "".
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.jenkins import _converter
from sandbox.jenkins._clock import Clock
from sandbox.jenkins._context import Context
from sandbox.jenkins._events import EventDispatcher
from sandbox.jenkins._executor import PipelineExecution, declared_parameters
from sandbox.jenkins._export import Exporter
from sandbox.jenkins._model import (
    RUN_CLASS,
    Folder,
    Item,
    PipelineJob,
    QueueItem,
    Run,
    worse,
)
from sandbox.jenkins._values import stringify
from sandbox.jenkins._xml import (
    EMPTY_FOLDER_XML,
    FOLDER_CLASS,
    ConfigError,
    Credential,
    item_class,
    parse_folder_description,
    with_description,
    with_disabled,
)

logger = logging.getLogger(__name__)

VERSION = "2.426.3"
_BAD_NAME = re.compile(r"[?*/\\%!@#$^&|<>\[\]:;]")
RUN_DATA_CLASS = "io.jenkins.plugins.generic.event.data.WorkflowRunData"


class JenkinsError(Exception):
    """A request Jenkins refuses: the HTTP status and the message it answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Settings:
    """The global configuration Configuration as Code manages."""

    system_message: str = ""
    num_executors: int = 2
    quiet_period: float = 5.0
    location_url: str | None = None
    admin_address: str = "address not configured yet <nobody@nowhere>"
    crumbs: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


# How long Jenkins answers for a queue item after it left the queue (started or cancelled):
# `Queue.leftItems` is a cache whose entries expire five minutes after they are written.
# A restart forgets every left item too (the cache lives in memory only).
LEFT_ITEM_RETENTION = 300.0


class Jenkins:
    """The controller: folder tree, queue, runs, credentials, settings, events."""

    def __init__(
        self,
        clock: Clock,
        *,
        admin_user: str = "admin",
        admin_password: str | None = None,
        api_token: str | None = None,
    ) -> None:
        self.clock = clock
        self.admin_user = admin_user
        self.admin_password = admin_password or secrets.token_hex(8)
        self.api_token = api_token or "11" + secrets.token_hex(16)
        self.crumb_salt = secrets.token_hex(16)
        self.root = Folder("", None)
        self.settings = Settings()
        self.casc_yaml = ""
        self.queue: dict[int, QueueItem] = {}
        self.next_queue_id = 1
        # Seconds of virtual time a left queue item stays known (see LEFT_ITEM_RETENTION).
        self.left_item_retention = LEFT_ITEM_RETENTION
        self.events = EventDispatcher(clock)
        self.exporter = Exporter(self)
        self.scm_files: dict[tuple[str, str], dict[str, str]] = {}
        self.server_url = "http://127.0.0.1:8080/"
        self.on_change: Callable[[], None] = lambda: None
        self._finished = asyncio.Event()

    # URLs.

    def root_url(self, request_url: str | None = None) -> str:
        """Jenkins's root URL: the configured location, else the one the client used."""
        url = self.settings.location_url or request_url or self.server_url
        return url if url.endswith("/") else url + "/"

    # Items.

    def lookup(self, full_name: str) -> Item | None:
        item: Item = self.root
        for name in [n for n in full_name.strip("/").split("/") if n]:
            if not isinstance(item, Folder) or name not in item.children:
                return None
            item = item.children[name]
        return item

    def job(self, full_name: str) -> PipelineJob:
        item = self.lookup(full_name)
        if not isinstance(item, PipelineJob):
            raise JenkinsError(404, f"No such job: {full_name}")
        return item

    def check_name(self, parent: Folder, name: str) -> None:
        if not name or not name.strip():
            raise JenkinsError(400, "No name is specified")
        if name in (".", "..") or _BAD_NAME.search(name):
            bad = _BAD_NAME.search(name)
            char = bad.group(0) if bad else name
            raise JenkinsError(400, f"‘{char}’ is an unsafe character")
        if name in parent.children:
            raise JenkinsError(400, f"A job already exists with the name ‘{name}’")

    def create_item(
        self, parent: Folder, name: str, xml: str, *, origin: list[Folder] | None = None
    ) -> Item:
        """`createItem` with a config.xml: a pipeline job or a folder."""
        self.check_name(parent, name)
        try:
            java_class = item_class(xml)
            item: Item
            if java_class == FOLDER_CLASS:
                item = Folder(name, parent, xml)
                item.description = parse_folder_description(xml)
            else:
                item = PipelineJob(name, parent, xml)
        except ConfigError as exc:
            raise JenkinsError(500, str(exc)) from exc
        parent.children[name] = item
        logger.info("created %s %s", type(item).__name__, item.full_name)
        self._item_event("item.created", item, origin)
        self.on_change()
        return item

    def create_folder(
        self, parent: Folder, name: str, *, origin: list[Folder] | None = None
    ) -> Item:
        return self.create_item(parent, name, EMPTY_FOLDER_XML, origin=origin)

    def copy_item(
        self, parent: Folder, name: str, source: str, *, origin: list[Folder] | None = None
    ) -> Item:
        original = self.lookup(source) if "/" in source else parent.children.get(source)
        if original is None:
            raise JenkinsError(400, f"No such job: {source}")
        return self.create_item(parent, name, original.xml, origin=origin)

    def update_item(self, item: Item, xml: str, *, origin: list[Folder] | None = None) -> None:
        """`POST config.xml`."""
        try:
            if isinstance(item, PipelineJob):
                item.reconfigure(xml)
            elif isinstance(item, Folder):
                if item_class(xml) != FOLDER_CLASS:
                    raise ConfigError("A folder's config.xml must describe a folder")
                item.xml = xml
                item.description = parse_folder_description(xml)
        except ConfigError as exc:
            raise JenkinsError(500, str(exc)) from exc
        self._item_event("item.updated", item, origin)
        self.on_change()

    def set_description(
        self, item: Item, description: str, *, origin: list[Folder] | None = None
    ) -> None:
        """`submitDescription`: saving the item fires item.updated, as `save()` does."""
        item.xml = with_description(item.xml, description)
        if isinstance(item, PipelineJob):
            item.reconfigure(item.xml)
        item.description = description
        self._item_event("item.updated", item, origin)
        self.on_change()

    def set_disabled(
        self, job: PipelineJob, disabled: bool, *, origin: list[Folder] | None
    ) -> None:
        job.reconfigure(with_disabled(job.xml, disabled))
        self._item_event("item.updated", job, origin)
        self.on_change()

    def delete_item(self, item: Item, *, origin: list[Folder] | None = None) -> None:
        """`doDelete`: children first, running builds aborted, queue entries cancelled."""
        if isinstance(item, Folder):
            for child in list(item.children.values()):
                self.delete_item(child, origin=None if origin is None else [*origin, item])
        if isinstance(item, PipelineJob):
            for queued in self.queue.values():
                if queued.job is item and queued.state != "left":
                    self.cancel_queue_item(queued)
            for run in item.runs.values():
                if run.task is not None:
                    run.task.cancel()
        assert item.parent is not None
        item.parent.children.pop(item.name, None)
        logger.info("deleted %s", item.full_name)
        self._item_event("item.deleted", item, origin)
        self.on_change()

    def rename_item(self, item: Item, new_name: str) -> None:
        """`doRename` / `confirmRename`: one item.locationChanged event, as the plugin sends."""
        assert item.parent is not None
        if new_name == item.name:
            return
        self.check_name(item.parent, new_name)
        old_full_name, old_url = item.full_name, item.url
        item.parent.children.pop(item.name)
        item.name = new_name
        item.parent.children[new_name] = item
        self._location_event(item, old_full_name, old_url)

    def move_item(self, item: Item, destination: Folder) -> None:
        assert item.parent is not None
        if destination is item.parent:
            return
        self.check_name(destination, item.name)
        old_full_name, old_url = item.full_name, item.url
        item.parent.children.pop(item.name)
        item.parent = destination
        destination.children[item.name] = item
        self._location_event(item, old_full_name, old_url)

    def _location_event(self, item: Item, old_full_name: str, old_url: str) -> None:
        logger.info("moved %s to %s", old_full_name, item.full_name)
        assert item.parent is not None
        meta = {
            "newName": item.full_name,
            "newUrl": item.url,
            "oldName": old_full_name,
            "oldUrl": old_url,
        }
        self.events.emit(
            "item.locationChanged",
            source=item.parent.url,
            url="",
            data_type=self._data_type(item),
            data=self.exporter.item(item, self.root_url(), 0),
            meta_data=meta,
        )
        self.on_change()

    def _data_type(self, item: Item) -> str:
        return FOLDER_CLASS if isinstance(item, Folder) else item.java_class

    def _item_event(self, type: str, item: Item, origin: list[Folder] | None) -> None:
        assert item.parent is not None
        url = ""
        if origin is not None:
            url = "".join(f"job/{f.name}/" for f in origin if f.parent is not None)
            url += f"job/{item.name}/"
        self.events.emit(
            type,
            source=item.parent.url,
            url=url,
            data_type=self._data_type(item),
            data=self.exporter.item(item, self.root_url(), 0),
        )

    # The queue.

    def schedule(
        self,
        job: PipelineJob,
        submitted: dict[str, str] | None,
        cause: dict[str, Any],
        *,
        delay: float | None = None,
    ) -> QueueItem:
        """Queue a build; an identical pending item is reused, as Jenkins does."""
        if job.config.disabled:
            raise JenkinsError(409, f"{job.full_name} is not buildable")
        values: dict[str, Any] = {}
        parameters = []
        for definition in job.config.parameters:
            raw = (submitted or {}).get(definition.name)
            value = definition.default_value() if raw is None else definition.coerce(raw)
            values[definition.name] = value
            parameters.append(definition.value_json(value))

        self.forget_left_items(older_than=self.left_item_retention)
        for queued in self.queue.values():
            if queued.job is job and queued.state != "left" and queued.values == values:
                return queued

        now = self.clock.now_ms()
        quiet = self.settings.quiet_period if delay is None else delay
        item = QueueItem(
            id=self.next_queue_id,
            job=job,
            in_queue_since=now,
            buildable_at=now + int(quiet * 1000),
            causes=[cause],
            parameters=parameters,
            values=values,
        )
        self.next_queue_id += 1
        self.queue[item.id] = item
        asyncio.get_running_loop().create_task(self._leave_queue(item, quiet))
        logger.info("queued %s as item %d", job.full_name, item.id)
        return item

    async def _leave_queue(self, item: QueueItem, quiet: float) -> None:
        await self.clock.sleep(quiet)
        if item.cancelled:
            return

        while not item.job.config.concurrent and self._building(item.job):
            item.state = "blocked"
            running = self._building(item.job)
            item.why = f"Build #{running.number if running else '?'} is already in progress"
            finished = self._finished
            await finished.wait()
            if item.cancelled:
                return

        item.state = "buildable"
        if item.job.parent is None or item.job.name not in item.job.parent.children:
            item.cancelled = True
            item.state = "left"
            item.left_ms = self.clock.now_ms()
            return
        self._start(item)

    def _building(self, job: PipelineJob) -> Run | None:
        return next((r for r in job.builds() if r.building), None)

    def cancel_queue_item(self, item: QueueItem) -> bool:
        if item.state == "left":
            return False
        item.cancelled = True
        item.state = "left"
        item.left_ms = self.clock.now_ms()
        item.why = None
        self.on_change()
        return True

    def queue_item(self, queue_id: int) -> QueueItem | None:
        """A queue item Jenkins still answers for: waiting, or left within the retention."""
        self.forget_left_items(older_than=self.left_item_retention)
        return self.queue.get(queue_id)

    def forget_left_items(self, *, older_than: float = 0.0) -> int:
        """Drop items that left the queue at least `older_than` virtual seconds ago; how many.

        With the default, every left item goes, as on a restart.
        """
        cutoff = self.clock.now_ms() - int(older_than * 1000)
        gone = [
            queue_id
            for queue_id, item in self.queue.items()
            if item.state == "left" and (item.left_ms is None or item.left_ms <= cutoff)
        ]
        for queue_id in gone:
            del self.queue[queue_id]
        return len(gone)

    def pending(self, job: PipelineJob) -> QueueItem | None:
        return next((q for q in self.queue.values() if q.job is job and q.state != "left"), None)

    # Runs.

    def _start(self, item: QueueItem) -> None:
        job = item.job
        previous = job.last(lambda r: r.result == "SUCCESS")
        now = self.clock.now_ms()
        run = Run(
            job=job,
            number=job.next_build_number,
            queue_id=item.id,
            enqueued_ms=item.in_queue_since,
            timestamp=now,
            causes=item.causes,
            parameters=item.parameters,
            values=item.values,
            estimated_duration=previous.duration if previous else -1,
        )
        job.next_build_number += 1
        job.runs[run.number] = run
        item.state = "left"
        item.run = run
        item.left_ms = now
        item.why = None
        run.task = asyncio.get_running_loop().create_task(self._execute(run))
        self.on_change()

    def environment(self, run: Run) -> dict[str, str]:
        job = run.job
        base = self.root_url()
        env = {
            "BUILD_NUMBER": str(run.number),
            "BUILD_ID": str(run.number),
            "BUILD_DISPLAY_NAME": f"#{run.number}",
            "JOB_NAME": job.full_name,
            "JOB_BASE_NAME": job.name,
            "BUILD_TAG": f"jenkins-{job.full_name.replace('/', '-')}-{run.number}",
            "BUILD_URL": base + run.url,
            "JOB_URL": base + job.url,
            "JENKINS_URL": base,
            "WORKSPACE": f"/var/jenkins_home/workspace/{job.full_name}",
            "NODE_NAME": "built-in",
            "EXECUTOR_NUMBER": "0",
        }
        for name, value in run.values.items():
            env[name] = "true" if value is True else "false" if value is False else str(value)
        return env

    async def _execute(self, run: Run) -> None:
        ctx = Context(
            run=run,
            clock=self.clock,
            env=self.environment(run),
            params=dict(run.values),
            masks=[str(v) for k, v in run.values.items() if self._is_password(run, k) and v],
        )
        try:
            self._run_event("run.initialize", run)
            for cause in run.causes:
                ctx.line(str(cause.get("shortDescription", "")), to_step=False)
            self._run_event("run.started", run)
            await self._run_pipeline(run, ctx)
        except asyncio.CancelledError:
            run.result = worse(run.result, "ABORTED")
            ctx.line("Hard kill!" if run.result == "ABORTED" else "", to_step=False)
        except Exception:
            logger.exception("the stand-in failed while running %s", run.url)
            ctx.line("ERROR: the Jenkins stand-in failed while running this build", to_step=False)
            run.result = worse(run.result, "FAILURE")
        finally:
            self._finish(run, ctx)

    def _is_password(self, run: Run, name: str) -> bool:
        definition = run.job.config.parameter(name)
        return definition is not None and definition.kind == "PasswordParameterDefinition"

    async def _run_pipeline(self, run: Run, ctx: Context) -> None:
        config = run.job.config
        checkout_url = None
        if config.scm is not None:
            branch = config.scm.branch.split("/")[-1]
            files = self.scm_files.get((config.scm.url, branch))
            if files is None or config.scm.script_path not in files:
                ctx.line(f"Checking out git {config.scm.url} into {ctx.env['WORKSPACE']}@script")
                ctx.line(
                    f"ERROR: Couldn't find any revision to build in {config.scm.url} "
                    f"(the stand-in has no {config.scm.script_path} seeded for branch {branch})",
                    to_step=False,
                )
                run.result = "FAILURE"
                return
            text = files[config.scm.script_path]
            checkout_url = config.scm.url
            ctx.env["GIT_URL"] = config.scm.url
            ctx.env.setdefault("BRANCH_NAME", branch)
        else:
            text = config.script or ""

        try:
            model = _converter.to_model(text)
        except _converter.ConversionFailed as exc:
            where = f" @ line {exc.line}, column {exc.column}." if exc.line else ""
            ctx.line(
                "org.codehaus.groovy.control.MultipleCompilationErrorsException: startup failed:",
                to_step=False,
            )
            ctx.line(f"WorkflowScript: {exc.line or 1}: {exc.message}{where}", to_step=False)
            ctx.line("\n1 error\n", to_step=False)
            run.result = "FAILURE"
            return

        for name, value in declared_parameters(model).items():
            if name not in ctx.params:
                ctx.params[name] = value
                ctx.env[name] = stringify(value)
        previous = run.job.runs.get(run.number - 1)
        execution = PipelineExecution(
            run,
            model,
            ctx,
            lambda credential_id: self.find_credential(run.job, credential_id),
            previous_result=previous.result if previous else None,
            checkout_url=checkout_url,
        )
        execution.plan()
        await execution.execute()

    def _finish(self, run: Run, ctx: Context) -> None:
        now = self.clock.now_ms()
        for node in run.nodes.values():
            if node.state in ("running", "paused"):
                node.state = "finished"
                node.result = worse(node.result, "ABORTED")
                node.end_ms = now
        for request in run.inputs.values():
            if request.outcome is not None and not request.outcome.done():
                request.outcome.cancel()
        run.inputs.clear()
        run.result = run.result or "SUCCESS"
        run.building = False
        run.duration = max(0, now - run.timestamp)
        ctx.line(f"Finished: {run.result}", to_step=False)
        ctx.close()
        run.task = None
        logger.info("finished %s: %s", run.url, run.result)
        self._run_event("run.completed", run)
        self._run_event("run.finalized", run)
        self.on_change()
        finished, self._finished = self._finished, asyncio.Event()
        finished.set()

    def _run_event(self, type: str, run: Run) -> None:
        assert run.job.parent is not None
        data = self.exporter.run(run, self.root_url(), 0)
        data["_class"] = RUN_DATA_CLASS
        data["_multiBranch"] = False
        data["_parentFullName"] = run.job.parent.full_name
        data["_projectName"] = run.job.name
        self.events.emit(type, source=run.job.url, url=run.url, data_type=RUN_CLASS, data=data)

    def stop(self, run: Run, mode: str = "stop", user: str | None = None) -> None:
        """`stop` interrupts the running steps (post sections still run); `term`/`kill` end it."""
        if not run.building:
            return
        logger.info("%s requested on %s", mode, run.url)
        if mode == "stop":
            for interrupt in list(run.interrupts):
                interrupt.set()
        elif run.task is not None:
            run.task.cancel()

    def submit_input(
        self,
        run: Run,
        input_id: str,
        *,
        proceed: bool,
        user: str,
        values: dict[str, Any] | None = None,
    ) -> None:
        request = run.inputs.get(input_id)
        if request is None or request.outcome is None or request.outcome.done():
            raise JenkinsError(404, f"No pending input with id {input_id}")
        request.outcome.set_result((proceed, user, values or {}))

    def delete_run(self, run: Run) -> None:
        if run.task is not None:
            run.task.cancel()
        run.job.runs.pop(run.number, None)
        self._run_event("run.deleted", run)
        self.on_change()

    # Credentials.

    def find_credential(self, item: Item, credential_id: str) -> Credential | None:
        """Folder stores from the job outwards, then the system store, as Jenkins looks up."""
        folder = item.parent if not isinstance(item, Folder) else item
        while folder is not None:
            found = folder.credentials.find(credential_id)
            if found is not None:
                return found
            folder = folder.parent
        return None

    def add_credential(self, folder: Folder, domain: str, credential: Credential) -> None:
        store = folder.credentials.domains.get(domain)
        if store is None:
            raise JenkinsError(404, f"No such domain: {domain}")
        if credential.id in store:
            raise JenkinsError(409, f"A credential with id {credential.id} already exists")
        store[credential.id] = credential
        self.on_change()

    def replace_credential(self, folder: Folder, domain: str, credential: Credential) -> None:
        folder.credentials.domains[domain][credential.id] = credential
        self.on_change()

    def remove_credential(self, folder: Folder, domain: str, credential_id: str) -> None:
        folder.credentials.domains[domain].pop(credential_id, None)
        self.on_change()

    # Runs lookups for the HTTP layer.

    def running(self) -> list[Run]:
        return [
            run
            for item in self.root.walk()
            if isinstance(item, PipelineJob)
            for run in item.runs.values()
            if run.building
        ]
