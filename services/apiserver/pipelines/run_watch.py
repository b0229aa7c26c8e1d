"""RunWatch: following a run, or a workspace's runs, as a server stream (an extension).

Each method checks what the path gives and forwards to devops-server's `Runs.WatchRuns`
stream, passing each change on as it comes; the REST gateway writes them as grpc-gateway
does (newline-delimited `{"result": ...}`). The caller has been authorised in the workspace
(`run.get`) by the interceptor already. The devops-server stream is cancelled explicitly when
this one ends for any reason (the caller went away, an error), so its watcher is freed at once
rather than when the call object is collected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from amamba.pipeline.v1alpha1 import run_watch_pb2 as api
from amamba.pipeline.v1alpha1 import run_watch_pb2_grpc
from workbench_sdk.devops.v1 import runs_pb2 as sdk

from libs.common import names
from libs.common.errors import Unavailable, from_grpc
from services.apiserver.pipelines.deps import UsesDeps
from services.apiserver.pipelines.runs import _pipeline


class RunWatchService(UsesDeps, run_watch_pb2_grpc.RunWatchServicer):
    async def _follow(self, request: sdk.WatchRunsRequest) -> AsyncIterator[Any]:
        call = self.devops.runs.WatchRuns(request, metadata=self.devops.metadata())
        try:
            async for change in call:
                yield api.PipelineRunChange(
                    run=change.run, log_size=change.log_size, log_chunk=change.log_chunk
                )
        except grpc.aio.AioRpcError as error:
            code = error.code()
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise Unavailable("devops-server is not reachable; try again shortly") from None
            raise from_grpc(code, error.details() or code.name) from None
        finally:
            call.cancel()

    async def WatchPipelineRun(
        self, request: api.WatchPipelineRunRequest, context: Any
    ) -> AsyncIterator[Any]:
        names.workspace_id("workspaceId", request.workspace_id)
        names.positive_id("runId", request.run_id)
        asked = sdk.WatchRunsRequest(
            workspace_id=request.workspace_id,
            pipeline=_pipeline(request.name),
            run_id=request.run_id,
            include_log=request.include_log,
        )
        async for change in self._follow(asked):
            yield change

    async def WatchWorkspaceRuns(
        self, request: api.WatchWorkspaceRunsRequest, context: Any
    ) -> AsyncIterator[Any]:
        names.workspace_id("workspaceId", request.workspace_id)
        asked = sdk.WatchRunsRequest(
            workspace_id=request.workspace_id,
            pipeline=_pipeline(request.pipeline) if request.pipeline else "",
        )
        async for change in self._follow(asked):
            yield change
