"""The Runs service of devops-server's internal SDK.

Runs are read from PostgreSQL. An unfinished run that Jenkins has is refreshed from Jenkins
when it is read (events may be late or missing), within `READ_REFRESH_BUDGET`: past it, the
run is answered as stored. Details only Jenkins has (console log,
Blue Ocean nodes and steps, step logs, artifacts, the JUnit report) are fetched when first
asked for; once the run has finished they are kept in `run_details`, so a finished run never
costs a Jenkins call again (except a log longer than `MAX_KEPT_LOG`, never kept).

Logs are served by byte offset: `start` in, `size` out (the log's length so far, where to ask
from next) and `delivered` (the bytes in this answer), so a console tails a running log and
reads a finished one the same way, until `delivered` is 0 and the run has finished.

Secrets: a password parameter's value is stored sealed and never answered; its clear value
is masked with as many `*` as it has bytes in every log served or kept, so offsets hold.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from amamba.pipeline.v1alpha1 import pipelines_pb2 as api
from amamba.types import types_pb2
from google.protobuf import json_format
from workbench_sdk.devops.v1 import runs_pb2 as pb
from workbench_sdk.devops.v1 import runs_pb2_grpc

from libs.common import log, names, paging
from libs.common.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from libs.devops_client import DEPENDENCY_DOWN
from libs.jenkins import JenkinsClient, JenkinsNotFound, JenkinsUnreachable
from services.devops_server.ci import params, states
from services.devops_server.ci.dispatch import Dispatcher, Path, job_path
from services.devops_server.ci.run_watch import Change, RunWatch
from services.devops_server.ci.runs import RunFilter, RunStore, now
from services.devops_server.crypto import SecretBox
from services.devops_server.store.tables import Pipeline, Run

logger = logging.getLogger(__name__)

# How long a read waits for Jenkins to refresh an unfinished run before serving it as stored.
READ_REFRESH_BUDGET = 2.0

# A finished log longer than this (characters) is not kept in the database but read from
# Jenkins whenever asked for: PostgreSQL is not a log store, and such logs are rare.
MAX_KEPT_LOG = 8 * 1024 * 1024

# An unfinished run read again within this many seconds of its last update is not refreshed
# by list reads (a single-run read always refreshes).
LIST_REFRESH_AFTER = 2.0


def page_message(page: paging.Page) -> types_pb2.Page:
    return types_pb2.Page(
        page=page.page, page_size=page.page_size, total=page.total, pages=page.pages
    )


def dependency_down(context: Any, message: str) -> Unavailable:
    """An UNAVAILABLE whose message reaches the caller (see `libs.devops_client`)."""
    context.set_trailing_metadata(((DEPENDENCY_DOWN, "jenkins"),))
    return Unavailable(message)


def millis(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1000) if moment else 0


def run_message(name: str, run: Any) -> api.PipelineRun:
    """A run as the API shows it; `run` is a `Run` or a row of the `runs` columns."""
    message = api.PipelineRun(
        workspace_id=str(run.workspace_id),
        name=name,
        run_id=run.seq,
        state=api.PipelineRunState.Value(run.state),
        updated_at=millis(run.updated_at),
        created_at=millis(run.created_at),
        duration=run.duration_ms,
        trigger_type=api.TriggerBuildType.Value(run.trigger_type),
        start_at=millis(run.started_at),
        description=run.description,
        started_by=run.started_by,
    )
    for parameter in params.public(run.parameters):
        json_format.ParseDict(parameter, message.parameters.add(), ignore_unknown_fields=True)
    return message


def definitions(pipeline: Pipeline) -> list[dict[str, Any]]:
    return list(pipeline.spec.get("parameters") or [])


def _start(value: str) -> int:
    if not value:
        return 0
    if not value.isdigit() or len(value) > 15:
        raise InvalidArgument(f"start: must be a byte offset (0 or more), got {value[:20]!r}")
    return int(value)


def _iso_millis(value: object) -> int:
    if not isinstance(value, str) or not value:
        return 0
    try:
        return int(datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)
    except ValueError:
        return 0


def _mask(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "*" * len(secret.encode()))
    return text


def submitters(submitter: str) -> list[str]:
    """An input's `submitter`: user ids and group names separated by ',', spaces trimmed."""
    return [name.strip() for name in submitter.split(",") if name.strip()]


def may_proceed(submitter: str, user: str, groups: Iterable[str], *, administrator: bool) -> bool:
    """Whether `user` may approve an input, by Jenkins's rules: anyone (allowed to answer
    inputs at all) when `submitter` is empty, else a user or a group it names; administrators
    always. Names compare without case, as Jenkins's default id strategy does."""
    allowed = {name.casefold() for name in submitters(submitter)}
    if administrator or not allowed:
        return True
    return user.casefold() in allowed or any(g.casefold() in allowed for g in groups)


def node_json(node: dict[str, Any]) -> dict[str, Any]:
    kind = str(node.get("type") or "STAGE")
    return {
        "id": str(node.get("id", "")),
        "result": states.blue_result(node.get("result"), node.get("state")),
        "startTime": str(_iso_millis(node.get("startTime"))),
        "type": f"BLUE_OCEAN_NODE_{kind}",
        "firstParent": str(node.get("firstParent") or ""),
        "displayName": str(node.get("displayName") or ""),
        "edges": [
            {"id": str(e.get("id", "")), "type": str(e.get("type", ""))}
            for e in node.get("edges") or []
        ],
        "restartable": bool(node.get("restartable")),
        "durationInMillis": str(int(node.get("durationInMillis") or 0)),
    }


def step_json(step: dict[str, Any]) -> dict[str, Any]:
    described: dict[str, Any] = {
        "id": str(step.get("id", "")),
        "displayName": str(step.get("displayName") or ""),
        "durationInMillis": str(int(step.get("durationInMillis") or 0)),
        "displayDescription": str(step.get("displayDescription") or ""),
        "result": states.blue_result(step.get("result"), step.get("state")),
        "startTime": str(_iso_millis(step.get("startTime"))),
        "type": "BLUE_OCEAN_STEP",
    }
    waiting = step.get("input")
    if isinstance(waiting, dict):
        described["input"] = {
            key: str(waiting.get(key) or "") for key in ("id", "message", "ok", "submitter")
        }
    return described


def junit_json(report: dict[str, Any] | None) -> dict[str, Any]:
    cases = []
    for suite in (report or {}).get("suites") or []:
        for case in suite.get("cases") or []:
            owner = str(case.get("className") or "")
            name = str(case.get("name") or "")
            cases.append(
                {
                    "name": f"{owner}.{name}" if owner else name,
                    "duration": float(case.get("duration") or 0),
                    "status": str(case.get("status") or "PASSED"),
                }
            )
    return {"cases": cases}


# The JunitResult filter -> the Jenkins case statuses it selects.
JUNIT_FILTER: dict[str, tuple[str, ...]] = {
    "JUNIT_RESULT_PASSED": ("PASSED", "FIXED"),
    "JUNIT_RESULT_SKIPPED": ("SKIPPED",),
    "JUNIT_RESULT_FAILED": ("FAILED", "REGRESSION"),
    "JUNIT_RESULT_FIXED": ("FIXED",),
    "JUNIT_RESULT_REGRESSION": ("REGRESSION",),
    "JUNIT_RESULT_EXISTING_FAILED": ("FAILED",),
}

Fetch = Callable[[JenkinsClient, Path, int], Awaitable[dict[str, Any]]]


# The most log text one streamed change carries (bytes); more follows in the next changes.
WATCH_LOG_CHUNK = 256 * 1024


class RunsService(runs_pb2_grpc.RunsServicer):
    def __init__(
        self,
        store: RunStore,
        dispatcher: Dispatcher,
        box: SecretBox,
        watch: RunWatch | None = None,
    ) -> None:
        self._store = store
        self._dispatcher = dispatcher
        self._box = box
        self.watch = watch

    # Starting and reading runs.

    async def StartRun(self, request: pb.StartRunRequest, context: Any) -> Any:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        given = [params.Given(p.name, p.value) for p in request.parameters]
        trigger = api.TriggerBuildType.Name(request.trigger_type or api.MANUAL)
        started_by = request.started_by or log.user.get() or ""
        pipeline, run = await self._store.create(
            workspace_id,
            request.name,
            lambda pipeline: params.resolve(definitions(pipeline), given, self._box),
            trigger_type=trigger,
            started_by=started_by,
        )
        self._dispatcher.kick()
        logger.info("run %s of %s asked for by %s", run.seq, pipeline.name, started_by)
        return run_message(pipeline.name, run)

    async def ListRuns(self, request: api.ListPipelineRunsRequest, context: Any) -> Any:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        page, size = paging.window(request.page, request.page_size)
        where = RunFilter(
            state="" if not request.state else api.PipelineRunState.Name(request.state),
            trigger_type=""
            if not request.trigger_type
            else api.TriggerBuildType.Name(request.trigger_type),
            started_by=request.started_by,
            description=request.description,
            run_id=request.search_run_id,
            start_from=request.start_time_from.ToDatetime(UTC)
            if request.HasField("start_time_from")
            else None,
            start_to=request.start_time_to.ToDatetime(UTC)
            if request.HasField("start_time_to")
            else None,
        )
        order = api.ListPipelineRunsRequest.PipelineRunSortBy.Name(request.sort_by)
        pipeline, rows, total = await self._store.list_runs(
            workspace_id,
            request.name,
            where,
            order=order,
            ascending=request.sort_dir == 1,
            offset=(page - 1) * size,
            limit=size,
        )
        rows = await self._refresh_stale(list(rows), pipeline.name)
        described = paging.describe(page, size, total)
        answer = api.ListPipelineRunsResponse(
            items=[run_message(pipeline.name, r) for r in rows],
            pagination=page_message(described),
        )
        for definition in definitions(pipeline):
            shown = dict(definition)
            if shown.get("type") == params.PASSWORD:
                shown["defaultValue"] = ""
            json_format.ParseDict(
                shown, answer.display_config.parameters.add(), ignore_unknown_fields=True
            )
        return answer

    async def _refresh_stale(self, rows: list[Any], name: str) -> list[Any]:
        """The listed rows, with unfinished runs not updated lately refreshed from Jenkins."""
        cutoff = now().timestamp() - LIST_REFRESH_AFTER
        stale = [
            i
            for i, r in enumerate(rows)
            if not states.is_final(r.state)
            and r.queue_id is not None
            and r.updated_at.timestamp() < cutoff
        ]
        if stale:
            fresh = await asyncio.gather(*(self._refresh_by_id(rows[i].id, name) for i in stale))
            for i, run in zip(stale, fresh, strict=True):
                rows[i] = run or rows[i]
        return rows

    async def _refresh_by_id(self, run_id: int, name: str) -> Run | None:
        run = await self._store.by_id(run_id)
        return None if run is None else await self._fresh(run, name)

    async def _run(self, workspace_id: str, name: str, seq: int) -> tuple[Pipeline, Run]:
        """The run, refreshed from Jenkins if it has not finished."""
        number = names.workspace_id("workspaceId", workspace_id)
        if seq <= 0:
            raise InvalidArgument(f"runId: must be a positive integer, got {seq}")
        pipeline, run = await self._store.get(number, name, seq)
        return pipeline, await self._fresh(run, pipeline.name)

    async def _fresh(self, run: Run, name: str) -> Run:
        """The run refreshed from Jenkins, or as stored if Jenkins takes longer than
        `READ_REFRESH_BUDGET` (a hung Jenkins must not hang reads of Workbench's own data)."""
        try:
            async with asyncio.timeout(READ_REFRESH_BUDGET):
                return await self._dispatcher.refresh(run, name)
        except TimeoutError:
            logger.info("run %s of %s served as stored: Jenkins is slow", run.seq, name)
            return run

    async def GetRun(self, request: api.GetPipelineRunRequest, context: Any) -> Any:
        pipeline, run = await self._run(request.workspace_id, request.name, request.run_id)
        return run_message(pipeline.name, run)

    async def GetRunParameters(
        self, request: api.GetPipelineRunParametersRequest, context: Any
    ) -> Any:
        _, run = await self._run(request.workspace_id, request.name, request.run_id)
        answer = api.GetPipelineRunParametersResponse()
        for parameter in params.public(run.parameters):
            json_format.ParseDict(parameter, answer.items.add(), ignore_unknown_fields=True)
        return answer

    # Acting on runs.

    async def CancelRun(self, request: api.CancelPipelineRunRequest, context: Any) -> Any:
        pipeline, run = await self._run(request.workspace_id, request.name, request.run_id)
        if states.is_final(run.state):
            raise FailedPrecondition(f"run {run.seq} has already finished ({run.state})")
        if run.queue_id is None:
            moved = await self._store.move(
                run, states.CANCELED, description="cancelled before it was handed to Jenkins"
            )
            if moved is not None:
                self._dispatcher.kick()
                return run_message(pipeline.name, moved)
            pipeline, run = await self._run(request.workspace_id, request.name, request.run_id)
        try:
            await self._stop_in_jenkins(run, pipeline.name)
        except JenkinsUnreachable:
            raise dependency_down(
                context,
                f"Jenkins is not reachable, so run {run.seq} was not cancelled; "
                "try again once Jenkins is back",
            ) from None
        return run_message(pipeline.name, await self._fresh(run, pipeline.name))

    async def _stop_in_jenkins(self, run: Run, name: str) -> None:
        client = await self._dispatcher.pool.client(run.jenkins)
        path = job_path(run.workspace_id, name)
        number = run.build_number
        if number is None and run.queue_id is not None:
            await client.cancel_queue_item(run.queue_id)
            item = await client.queue_item(run.queue_id)
            number = item.build_number
        if number is not None:
            await client.stop_build(path, number)

    async def ReplayRun(self, request: api.ReplayPipelineRunRequest, context: Any) -> Any:
        """A new run with the old run's parameters, if the pipeline's definition still takes
        them (400 naming the first it does not)."""
        pipeline, run = await self._run(request.workspace_id, request.name, request.run_id)

        def replayed(current: Pipeline) -> list[dict[str, Any]]:
            try:
                return params.again(definitions(current), run.parameters, self._box)
            except InvalidArgument as error:
                raise InvalidArgument(
                    f"{error.message}; the pipeline's parameters changed since run {run.seq}, "
                    "so run the pipeline anew instead of replaying it"
                ) from None

        _, again = await self._store.create(
            run.workspace_id,
            pipeline.name,
            replayed,
            trigger_type="MANUAL",
            started_by=log.user.get() or "",
        )
        self._dispatcher.kick()
        return run_message(pipeline.name, again)

    async def SubmitInput(self, request: pb.SubmitInputRequest, context: Any) -> Any:
        """Proceed or abort an input step, as Jenkins would let the caller.

        Workbench answers as its own Jenkins user, so the input's `submitter` list is checked
        here: proceeding needs `may_proceed`; aborting needs only the right to answer inputs,
        which in Workbench's roles comes with the right to cancel the run (Jenkins lets anyone
        who may cancel a build abort its input).
        """
        pipeline, run = await self._run(request.workspace_id, request.name, request.run_id)
        if states.is_final(run.state) or run.build_number is None:
            raise FailedPrecondition(f"run {run.seq} is not waiting for input ({run.state})")
        client = await self._dispatcher.pool.client(run.jenkins)
        path = job_path(run.workspace_id, pipeline.name)
        input_id = request.input_id
        try:
            steps = await client.steps(path, run.build_number, str(request.node_id))
            waiting = [
                s["input"]
                for s in steps
                if str(s.get("id")) == str(request.step_id) and isinstance(s.get("input"), dict)
            ]
            if not waiting:
                raise FailedPrecondition(
                    f"stepId: step {request.step_id} of run {run.seq} is not waiting for input"
                )
            if input_id and str(waiting[0].get("id")) != input_id:
                raise NotFound(f"inputId: input {input_id!r} does not wait at that step")
            input_id = str(waiting[0].get("id"))
            submitter = str(waiting[0].get("submitter") or "")
            user = log.user.get() or ""
            if request.proceed and not may_proceed(
                submitter, user, request.groups, administrator=request.administrator
            ):
                raise PermissionDenied(
                    f"input {input_id!r} of run {run.seq} may be approved only by: "
                    f"{', '.join(submitters(submitter))}"
                )
            await client.submit_input(path, run.build_number, input_id, request.proceed)
        except JenkinsNotFound:
            raise NotFound(f"inputId: no input {input_id!r} waits in run {run.seq}") from None
        except JenkinsUnreachable:
            raise dependency_down(
                context, "Jenkins is not reachable; the input was not answered"
            ) from None
        await self._fresh(run, pipeline.name)
        return api.SubmitInputResponse(response="proceeded" if request.proceed else "aborted")

    # What only Jenkins knows.

    async def _detail(
        self,
        context: Any,
        run: Run,
        name: str,
        kind: str,
        key: str,
        fetch: Fetch,
        empty: dict[str, Any],
    ) -> dict[str, Any]:
        final = states.is_final(run.state)
        if final:
            kept = await self._store.detail(run.id, kind, key)
            if kept is not None:
                return kept
        if run.build_number is None or not run.jenkins:
            content = empty
        else:
            client = await self._dispatcher.pool.client(run.jenkins)
            path = job_path(run.workspace_id, name)
            try:
                content = await fetch(client, path, run.build_number)
            except JenkinsUnreachable:
                raise dependency_down(
                    context,
                    f"Jenkins is not reachable; the {kind} of run {run.seq} cannot be read now",
                ) from None
            except JenkinsNotFound:
                raise NotFound(f"Jenkins has no {kind} for run {run.seq}") from None
        if final and len(str(content.get("text", ""))) <= MAX_KEPT_LOG:
            await self._store.keep_detail(run.id, kind, key, content)
        return content

    def _log_answer(self, run: Run, content: dict[str, Any], start: int) -> dict[str, Any]:
        if "next" in content:  # a live chunk
            return {"log": content["text"], "size": content["next"], "delivered": content["bytes"]}
        whole = str(content.get("text", "")).encode()
        piece = whole[start:]
        return {
            "log": piece.decode(errors="ignore"),
            "size": len(whole),
            "delivered": len(piece),
        }

    async def GetRunLog(self, request: api.GetPipelineRunLogRequest, context: Any) -> Any:
        start = _start(request.start)
        pipeline, run = await self._run(request.workspace_id, request.name, request.run_id)
        secrets = params.secrets(run.parameters, self._box)

        async def fetch(client: JenkinsClient, path: Path, number: int) -> dict[str, Any]:
            if states.is_final(run.state):
                text = await client.console_text(path, number)
                return {"text": _mask(text, secrets).replace("\x00", "")}
            chunk = await client.progressive_log(path, number, start)
            text = _mask(chunk.text, secrets)
            return {"text": text, "next": chunk.next_start, "bytes": len(text.encode())}

        content = await self._detail(context, run, pipeline.name, "log", "", fetch, {"text": ""})
        return api.GetPipelineRunLogResponse(**self._log_answer(run, content, start))

    async def GetRunStepLog(self, request: api.GetPipelineRunStepLogRequest, context: Any) -> Any:
        start = _start(request.start)
        pipeline, run = await self._run(request.workspace_id, request.name, request.run_id)
        secrets = params.secrets(run.parameters, self._box)
        step = str(request.step_id)

        async def fetch(client: JenkinsClient, path: Path, number: int) -> dict[str, Any]:
            if states.is_final(run.state):
                whole, offset = [], 0
                while True:
                    chunk = await client.step_log(path, number, step, offset)
                    whole.append(chunk.text)
                    if not chunk.more or chunk.next_start <= offset:
                        break
                    offset = chunk.next_start
                return {"text": _mask("".join(whole), secrets).replace("\x00", "")}
            chunk = await client.step_log(path, number, step, start)
            text = _mask(chunk.text, secrets)
            return {"text": text, "next": chunk.next_start, "bytes": len(text.encode())}

        key = f"{request.node_id}/{step}"
        content = await self._detail(
            context, run, pipeline.name, "steplog", key, fetch, {"text": ""}
        )
        return api.GetPipelineRunStepLogResponse(**self._log_answer(run, content, start))

    async def GetRunNodes(self, request: api.GetPipelineRunNodesRequest, context: Any) -> Any:
        pipeline, run = await self._run(request.workspace_id, request.name, request.run_id)

        async def fetch(client: JenkinsClient, path: Path, number: int) -> dict[str, Any]:
            return {"nodes": [node_json(n) for n in await client.nodes(path, number)]}

        content = await self._detail(context, run, pipeline.name, "nodes", "", fetch, {"nodes": []})
        return json_format.ParseDict(content, api.GetPipelineRunNodesResponse())

    async def GetRunSteps(self, request: api.GetPipelineRunStepsRequest, context: Any) -> Any:
        pipeline, run = await self._run(request.workspace_id, request.name, request.run_id)
        node = str(request.node_id)

        async def fetch(client: JenkinsClient, path: Path, number: int) -> dict[str, Any]:
            return {"steps": [step_json(s) for s in await client.steps(path, number, node)]}

        content = await self._detail(
            context, run, pipeline.name, "steps", node, fetch, {"steps": []}
        )
        return json_format.ParseDict(content, api.GetPipelineRunStepsResponse())

    async def GetArtifacts(self, request: api.GetPipelineArtifactsRequest, context: Any) -> Any:
        pipeline, run = await self._run(request.workspace_id, request.name, request.run_id)

        async def fetch(client: JenkinsClient, path: Path, number: int) -> dict[str, Any]:
            listed = await client.artifacts(path, number)
            return {
                "artifacts": [
                    {
                        "downloadable": True,
                        "id": str(a.get("relativePath", "")),
                        "name": str(a.get("fileName", "")),
                        "path": str(a.get("relativePath", "")),
                        "url": f"{number}/artifact/{a.get('relativePath', '')}",
                    }
                    for a in listed
                ]
            }

        content = await self._detail(
            context, run, pipeline.name, "artifacts", "", fetch, {"artifacts": []}
        )
        return json_format.ParseDict(content, api.GetPipelineArtifactsResponse())

    async def _junit(
        self, context: Any, workspace_id: str, name: str, seq: int
    ) -> list[dict[str, Any]]:
        pipeline, run = await self._run(workspace_id, name, seq)

        async def fetch(client: JenkinsClient, path: Path, number: int) -> dict[str, Any]:
            return junit_json(await client.test_report(path, number))

        content = await self._detail(context, run, pipeline.name, "junit", "", fetch, {"cases": []})
        return list(content.get("cases") or [])

    async def GetJunitReport(self, request: api.GetJunitReportRequest, context: Any) -> Any:
        cases = await self._junit(context, request.workspace_id, request.name, request.run_id)
        if request.result:
            wanted = JUNIT_FILTER[api.JunitResult.Name(request.result)]
            cases = [c for c in cases if c["status"] in wanted]
        items, page = paging.paginate(cases, request.page, request.page_size)
        return api.GetJunitReportResponse(
            items=[api.JunitResultItem(name=c["name"], duration=c["duration"]) for c in items],
            pagination=page_message(page),
        )

    async def GetJunitSummary(self, request: api.GetJunitReportSummaryRequest, context: Any) -> Any:
        cases = await self._junit(context, request.workspace_id, request.name, request.run_id)
        count = {s: sum(1 for c in cases if c["status"] == s) for s in JUNIT_STATUSES}
        return api.GetJunitSummaryResponse(
            data=api.JunitSummary(
                total=len(cases),
                failed=count["FAILED"] + count["REGRESSION"],
                skipped=count["SKIPPED"],
                passed=count["PASSED"] + count["FIXED"],
                fixed=count["FIXED"],
                regression=count["REGRESSION"],
                existing_failed=count["FAILED"],
            )
        )

    # Following runs.

    async def WatchRuns(self, request: pb.WatchRunsRequest, context: Any) -> AsyncIterator[Any]:
        """See `ci.run_watch`; the log goes through `GetRunLog`, so it reads the same."""
        if self.watch is None:
            raise Unavailable("watching runs is not enabled on this devops-server")
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        if request.run_id < 0:
            raise InvalidArgument(f"runId: must be a positive integer, got {request.run_id}")
        changes: AsyncGenerator[Change, None]
        if request.run_id:
            if not request.pipeline:
                raise InvalidArgument("pipeline: the pipeline name is needed with runId")
            pipeline, run = await self._store.get(workspace_id, request.pipeline, request.run_id)

            async def read_log(name: str, seq: int, start: int) -> tuple[str, int, bool]:
                asked = api.GetPipelineRunLogRequest(
                    workspace_id=str(workspace_id), name=name, run_id=seq, start=str(start)
                )
                try:
                    answer = await self.GetRunLog(asked, context)
                except (Unavailable, NotFound):
                    return "", start, True  # Jenkins is down or has no log yet: try later
                data = answer.log.encode()
                if len(data) <= WATCH_LOG_CHUNK:
                    return answer.log, start + len(data), start + len(data) >= answer.size
                text = data[:WATCH_LOG_CHUNK].decode(errors="ignore")
                return text, start + len(text.encode()), False

            changes = self.watch.follow_one(
                workspace_id, pipeline.name, run.id, read_log if request.include_log else None
            )
        else:
            if request.include_log:
                raise InvalidArgument("includeLog: only one run's log can be followed")
            changes = self.watch.follow_many(workspace_id, request.pipeline)
        try:
            async for change in changes:
                yield pb.RunChange(
                    run=run_message(change.name, change.run),
                    log_size=change.log_size,
                    log_chunk=change.log_chunk,
                )
        finally:
            await changes.aclose()


JUNIT_STATUSES = ("PASSED", "SKIPPED", "FAILED", "FIXED", "REGRESSION")
