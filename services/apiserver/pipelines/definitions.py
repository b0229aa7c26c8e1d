"""Pipeline definitions: create, read, update, rename, delete, toggle, replicate, sync,
Jenkinsfile and JSON editing, build parameters (`Pipelines` methods about the pipeline
itself). A template pipeline is created from the Jenkinsfile the catalog renders
(`Catalog/RenderTemplate`) with the request's values; from then on it is edited like a
custom one.

devops-server stores and checks definitions and pushes them to Jenkins; these methods pass
the request on and answer with the API's `Pipeline`. The Jenkinsfile <-> JSON conversions
run here, in process, through `libs.jenkinsfile`: no Jenkins call, and a text that does not
convert is a 400 giving the line and column.

Sync state: the published `Pipeline` message has no field for "not in Jenkins yet" (its
`status` holds only a health score, and the contract allows no extra field), so every
answer that carries one pipeline also carries, as response metadata, `x-workbench-sync`
(`synced` or `pending`) and, while pending, `x-workbench-sync-error` (why the last push
failed). Over REST they are the headers `Grpc-Metadata-X-Workbench-Sync` and
`Grpc-Metadata-X-Workbench-Sync-Error`, as grpc-gateway forwards metadata. `:sync` answers
`{"result": "synced"}`, or 503 with the reason when Jenkins cannot take the job.
"""

from __future__ import annotations

import json
import re
from typing import Any

from amamba.pipeline.v1alpha1 import pipelines_pb2 as api
from google.protobuf import empty_pb2
from workbench_sdk.devops.v1 import catalog_pb2
from workbench_sdk.devops.v1 import pipelines_pb2 as sdk

from libs.common import names
from libs.common.errors import FailedPrecondition, InvalidArgument, Unavailable
from libs.jenkinsfile import ConversionError, ScriptedPipelineError, to_jenkinsfile, to_json
from libs.jenkinsfile import validate as validate_model
from services.apiserver.pipelines.deps import UsesDeps

EMPTY = empty_pb2.Empty()
SYNC_KEY = "x-workbench-sync"
SYNC_ERROR_KEY = "x-workbench-sync-error"
_NOT_HEADER_SAFE = re.compile(r"[^\x20-\x7e]")
MAX_JSON = 4_000_000


async def send_sync_state(context: Any, state: sdk.SyncState) -> None:
    """Tell the caller whether Jenkins has this definition yet (see the module docstring)."""
    metadata = [(SYNC_KEY, "synced" if state.in_sync else "pending")]
    if not state.in_sync and state.error:
        metadata.append((SYNC_ERROR_KEY, _NOT_HEADER_SAFE.sub("?", state.error)[:512]))
    await context.send_initial_metadata(metadata)


def model_of(field: str, text: str) -> dict[str, Any]:
    """The JSON model of a declarative Jenkinsfile; 400 with line and column otherwise."""
    try:
        return to_json(text)
    except ScriptedPipelineError:
        raise FailedPrecondition(
            f"{field}: a scripted pipeline has no JSON model; edit it as a Jenkinsfile"
        ) from None
    except ConversionError as error:
        raise InvalidArgument(f"{field}: {error}") from None


def jenkinsfile_of(field: str, text: str, *, original: str | None = None) -> str:
    """A Jenkinsfile from a JSON model given as text; 400 naming what is wrong."""
    if len(text) > MAX_JSON:
        raise InvalidArgument(f"{field}: must be at most {MAX_JSON} characters")
    try:
        model = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise InvalidArgument(f"{field}: not JSON: {error}") from None
    if not isinstance(model, dict) or not isinstance(model.get("pipeline"), dict):
        raise InvalidArgument(f'{field}: must be an object {{"pipeline": {{...}}}}')

    problems = validate_model(model)
    if problems:
        raise InvalidArgument(f"{field}: {'; '.join(str(p) for p in problems[:5])}")
    try:
        return to_jenkinsfile(model, original=original)
    except ConversionError as error:
        raise InvalidArgument(f"{field}: {error}") from None
    except (TypeError, KeyError, AttributeError, RecursionError):
        raise InvalidArgument(f"{field}: the model cannot be printed as a Jenkinsfile") from None


class DefinitionMethods(UsesDeps):
    async def _record(self, rpc: Any, request: Any, context: Any) -> sdk.PipelineRecord:
        record: sdk.PipelineRecord = await self.devops.call(rpc, request)
        await send_sync_state(context, record.sync)
        return record

    def _key(self, request: Any) -> sdk.PipelineKey:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        return sdk.PipelineKey(workspace_id=workspace_id, name=request.name)

    async def CreatePipeline(
        self, request: api.CreatePipelineRequest, context: Any
    ) -> api.Pipeline:
        new = sdk.NewPipeline(pipeline=request)
        if request.type == api.PIPELINE_TYPE_TEMPLATE:
            new.jenkinsfile = await self._rendered(request)
        record = await self._record(self.devops.pipelines.CreatePipeline, new, context)
        return record.pipeline

    async def _rendered(self, request: api.CreatePipelineRequest) -> str:
        """A template pipeline's Jenkinsfile: the catalog's template with the given values."""
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        template = request.template
        if not template.name:
            raise InvalidArgument("template.name: a template pipeline names its template")
        rendered: catalog_pb2.RenderTemplateResponse = await self.devops.call(
            self.devops.catalog.RenderTemplate,
            catalog_pb2.RenderTemplateRequest(
                workspace_id=workspace_id,
                name=template.name,
                global_=template.global_,
                parameters=template.parameters or "{}",
            ),
        )
        return rendered.jenkinsfile

    async def GetPipeline(self, request: api.GetPipelineRequest, context: Any) -> api.Pipeline:
        record = await self._record(self.devops.pipelines.GetPipeline, self._key(request), context)
        return record.pipeline

    async def UpdatePipeline(
        self, request: api.UpdatePipelineRequest, context: Any
    ) -> api.Pipeline:
        record = await self._record(self.devops.pipelines.UpdatePipeline, request, context)
        return record.pipeline

    async def DeletePipeline(
        self, request: api.DeletePipelineRequest, context: Any
    ) -> empty_pb2.Empty:
        await self.devops.call(self.devops.pipelines.DeletePipeline, self._key(request))
        return EMPTY

    async def ListPipelines(
        self, request: api.ListPipelinesRequest, context: Any
    ) -> api.ListPipelinesResponse:
        names.workspace_id("workspaceId", request.workspace_id)
        listed: api.ListPipelinesResponse = await self.devops.call(
            self.devops.pipelines.ListPipelines, request
        )
        return listed

    async def UpdatePipelineName(
        self, request: api.UpdatePipelineNameRequest, context: Any
    ) -> api.Pipeline:
        record = await self._record(self.devops.pipelines.RenamePipeline, request, context)
        return record.pipeline

    async def TogglePipeline(
        self, request: api.TogglePipelineRequest, context: Any
    ) -> empty_pb2.Empty:
        await self._record(self.devops.pipelines.TogglePipeline, request, context)
        return EMPTY

    async def ReplicatePipeline(
        self, request: api.ReplicatePipelineRequest, context: Any
    ) -> api.Pipeline:
        record = await self._record(self.devops.pipelines.ReplicatePipeline, request, context)
        return record.pipeline

    async def SyncPipeline(
        self, request: api.SyncPipelineRequest, context: Any
    ) -> api.SyncPipelineResponse:
        record = await self._record(self.devops.pipelines.SyncPipeline, self._key(request), context)
        if record.sync.error:
            raise Unavailable(record.sync.error)
        return api.SyncPipelineResponse(result="synced")

    async def UpdatePipelineJenkinsfile(
        self, request: api.UpdatePipelineJenkinsfileRequest, context: Any
    ) -> api.Pipeline:
        record = await self._record(self.devops.pipelines.UpdateJenkinsfile, request, context)
        return record.pipeline

    async def GetJenkinsJSON(
        self, request: api.GetJenkinsJSONRequest, context: Any
    ) -> api.GetJenkinsJSONResponse:
        record = await self._record(self.devops.pipelines.GetPipeline, self._key(request), context)
        text = record.pipeline.jenkinsfile
        if not text.strip():
            return api.GetJenkinsJSONResponse(json="")
        return api.GetJenkinsJSONResponse(json=json.dumps(model_of("jenkinsfile", text)))

    async def UpdateJenkinsJSON(
        self, request: api.UpdateJenkinsJSONRequest, context: Any
    ) -> api.UpdateJenkinsJSONResponse:
        key = self._key(request)
        current: sdk.PipelineRecord = await self.devops.call(self.devops.pipelines.GetPipeline, key)
        text = jenkinsfile_of("json", request.json, original=current.pipeline.jenkinsfile or None)
        update = api.UpdatePipelineJenkinsfileRequest(
            workspace_id=request.workspace_id, name=request.name, jenkinsfile=text
        )
        record = await self._record(self.devops.pipelines.UpdateJenkinsfile, update, context)
        model = model_of("json", record.pipeline.jenkinsfile)
        return api.UpdateJenkinsJSONResponse(json=json.dumps(model))

    async def JenkinsfileToJSON(
        self, request: api.JenkinsfileToJSONRequest, context: Any
    ) -> api.JenkinsFileToJSONResponse:
        names.workspace_id("workspaceId", request.workspace_id)
        if len(request.jenkinsfile) > MAX_JSON:
            raise InvalidArgument(f"jenkinsfile: must be at most {MAX_JSON} characters")
        model = model_of("jenkinsfile", request.jenkinsfile)
        return api.JenkinsFileToJSONResponse(data=json.dumps(model))

    async def JSONToJenkinsfile(
        self, request: api.JSONToJenkinsfileRequest, context: Any
    ) -> api.JSONToJenkinsFileResponse:
        names.workspace_id("workspaceId", request.workspace_id)
        return api.JSONToJenkinsFileResponse(data=jenkinsfile_of("json", request.json))

    async def GetBuildParameter(
        self, request: api.GetBuildParameterRequest, context: Any
    ) -> api.GetBuildParameterResponse:
        record = await self._record(self.devops.pipelines.GetPipeline, self._key(request), context)
        return api.GetBuildParameterResponse(parameters=record.pipeline.parameters)

    async def PatchPipelineParameters(
        self, request: api.PatchPipelineParametersRequest, context: Any
    ) -> api.PatchPipelineParametersResponse:
        record = await self._record(self.devops.pipelines.PatchParameters, request, context)
        return api.PatchPipelineParametersResponse(parameters=record.pipeline.parameters)
