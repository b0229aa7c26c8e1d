"""Pipeline runs: run, list, read, cancel, replay, input, logs, stages, steps, reports.

Each method checks what the path gives (a workspace id, a pipeline name, a positive run id)
and forwards to devops-server's `Runs` SDK service, which owns runs and talks to Jenkins.
The caller has been authorised in the workspace by the interceptor already; a run is started
in the caller's name (`startedBy`), and an input is answered in the caller's name, with its
groups and whether it is a platform administrator, for devops-server to check against the
input's submitter list.
"""

from __future__ import annotations

from typing import Any

from amamba.pipeline.v1alpha1 import pipelines_pb2 as api
from workbench_sdk.devops.v1 import runs_pb2 as sdk

from libs.common import names
from libs.common.errors import InvalidArgument
from services.apiserver import auth
from services.apiserver.pipelines.deps import UsesDeps


def _pipeline(name: str) -> str:
    if not name:
        raise InvalidArgument("name: the pipeline name must not be empty")
    if len(name) > 255 or "/" in name or any(ord(c) < 32 for c in name):
        raise InvalidArgument(f"name: {name[:60]!r} is not a valid pipeline name")
    return name


def _checked(request: Any) -> Any:
    """The request with its path fields checked (workspace id, pipeline name, ids)."""
    names.workspace_id("workspaceId", request.workspace_id)
    _pipeline(request.name)
    for field, label in (("run_id", "runId"), ("node_id", "nodeId"), ("step_id", "stepId")):
        if field in request.DESCRIPTOR.fields_by_name:
            names.positive_id(label, getattr(request, field))
    return request


class RunMethods(UsesDeps):
    async def _call(self, method: str, request: Any) -> Any:
        return await self.devops.call(getattr(self.devops.runs, method), _checked(request))

    async def RunPipeline(self, request: api.RunPipelineRequest, context: Any) -> Any:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        start = sdk.StartRunRequest(
            workspace_id=workspace_id,
            name=_pipeline(request.name),
            parameters=request.parameters,
            trigger_type=api.MANUAL,
            started_by=auth.current().username,
        )
        return await self.devops.call(self.devops.runs.StartRun, start)

    async def ListPipelineRuns(self, request: api.ListPipelineRunsRequest, context: Any) -> Any:
        return await self._call("ListRuns", request)

    async def GetPipelineRun(self, request: api.GetPipelineRunRequest, context: Any) -> Any:
        return await self._call("GetRun", request)

    async def CancelPipelineRun(self, request: api.CancelPipelineRunRequest, context: Any) -> Any:
        return await self._call("CancelRun", request)

    async def ReplayPipelineRun(self, request: api.ReplayPipelineRunRequest, context: Any) -> Any:
        return await self._call("ReplayRun", request)

    async def GetPipelineRunParameters(
        self, request: api.GetPipelineRunParametersRequest, context: Any
    ) -> Any:
        return await self._call("GetRunParameters", request)

    async def GetPipelineRunLog(self, request: api.GetPipelineRunLogRequest, context: Any) -> Any:
        return await self._call("GetRunLog", request)

    async def GetPipelineRunNodes(
        self, request: api.GetPipelineRunNodesRequest, context: Any
    ) -> Any:
        return await self._call("GetRunNodes", request)

    async def GetPipelineRunSteps(
        self, request: api.GetPipelineRunStepsRequest, context: Any
    ) -> Any:
        return await self._call("GetRunSteps", request)

    async def GetPipelineRunStepLog(
        self, request: api.GetPipelineRunStepLogRequest, context: Any
    ) -> Any:
        return await self._call("GetRunStepLog", request)

    async def GetPipelineArtifacts(
        self, request: api.GetPipelineArtifactsRequest, context: Any
    ) -> Any:
        return await self._call("GetArtifacts", request)

    async def GetJunitReport(self, request: api.GetJunitReportRequest, context: Any) -> Any:
        return await self._call("GetJunitReport", request)

    async def GetJunitReportSummary(
        self, request: api.GetJunitReportSummaryRequest, context: Any
    ) -> Any:
        return await self._call("GetJunitSummary", request)

    async def _input(self, request: Any, proceed: bool) -> Any:
        _checked(request)
        caller = auth.current()
        submit = sdk.SubmitInputRequest(
            workspace_id=request.workspace_id,
            name=request.name,
            run_id=request.run_id,
            node_id=request.node_id,
            step_id=request.step_id,
            input_id=request.input_id,
            proceed=proceed,
            groups=list(caller.identity.groups),
            administrator=caller.platform_admin,
        )
        return await self.devops.call(self.devops.runs.SubmitInput, submit)

    async def SubmitInputToProceed(
        self, request: api.SubmitInputToProceedRequest, context: Any
    ) -> Any:
        return await self._input(request, True)

    async def SubmitInputToAbort(self, request: api.SubmitInputToAbortRequest, context: Any) -> Any:
        return await self._input(request, False)
