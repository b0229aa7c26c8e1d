"""The PipelineDefinitions service of devops-server's internal SDK.

Each write commits first, then pushes the job to Jenkins once (see `sync`); the answer is the
stored pipeline with its sync state, whether the push went through or not. Names and
definitions are checked here, where they are stored, so every SDK caller gets the same 400s.
"""

from __future__ import annotations

from typing import Any

from amamba.pipeline.v1alpha1 import pipelines_pb2 as api
from amamba.types import types_pb2
from google.protobuf import empty_pb2
from workbench_sdk.devops.v1 import pipelines_pb2 as pb
from workbench_sdk.devops.v1 import pipelines_pb2_grpc

from libs.common import names, paging
from libs.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from services.devops_server.ci.converge import converge_workspace
from services.devops_server.ci.definition import (
    check_definition,
    check_jenkinsfile,
    definition_from,
    from_spec,
    pipeline_name,
    seal_passwords,
    to_spec,
)
from services.devops_server.ci.instances import JenkinsPool
from services.devops_server.ci.pipelines import (
    TYPE_PREFIX,
    WEATHER_PREFIX,
    ListQuery,
    PipelineStore,
    millis,
    pipeline_message,
    type_column,
)
from services.devops_server.ci.sync import JobPusher, SyncLoop
from services.devops_server.crypto import SecretBox
from services.devops_server.store.tables import Pipeline

EMPTY = empty_pb2.Empty()


def record(row: Pipeline) -> pb.PipelineRecord:
    # Drift found in Jenkins (ci.resync) is shown as not in sync until `:sync` repairs it.
    in_sync = row.generation <= row.synced_generation and not row.sync_error.startswith("drift:")
    return pb.PipelineRecord(
        id=row.id,
        pipeline=pipeline_message(row),
        sync=pb.SyncState(
            in_sync=in_sync,
            error=row.sync_error,
            generation=row.generation,
            synced_generation=row.synced_generation,
            synced_at=millis(row.synced_at),
        ),
    )


def _patched(definition: api.Pipeline, operations: Any) -> api.Pipeline:
    """The definition with a list of parameter operations applied, in order."""
    parameters = list(definition.parameters)

    for index, operation in enumerate(operations):
        where = f"operations[{index}]"
        given = operation.parameter
        position = next((i for i, p in enumerate(parameters) if p.name == given.name), None)
        if operation.operation == api.PARAMETER_OPERATION_ADD:
            if position is not None:
                raise AlreadyExists(f"{where}.parameter.name: {given.name!r} already exists")
            parameters.append(given)
        elif operation.operation in (
            api.PARAMETER_OPERATION_UPDATE,
            api.PARAMETER_OPERATION_DELETE,
        ):
            if position is None:
                raise NotFound(f"{where}.parameter.name: no parameter {given.name!r}")
            if operation.operation == api.PARAMETER_OPERATION_UPDATE:
                parameters[position] = given
            else:
                del parameters[position]
        else:
            raise InvalidArgument(f"{where}.operation: must be ADD, UPDATE or DELETE")

    patched = api.Pipeline()
    patched.CopyFrom(definition)
    del patched.parameters[:]
    patched.parameters.extend(parameters)
    return patched


class PipelineDefinitionsService(pipelines_pb2_grpc.PipelineDefinitionsServicer):
    def __init__(
        self,
        store: PipelineStore,
        pusher: JobPusher,
        loop: SyncLoop,
        box: SecretBox,
        pool: JenkinsPool,
    ) -> None:
        self._store = store
        self._pusher = pusher
        self._loop = loop
        self._box = box
        self._pool = pool

    async def _pushed(self, row: Pipeline) -> pb.PipelineRecord:
        """Try the push the write just made pending; the answer tells whether it went."""
        if await self._pusher.push_in_request(row.id):
            self._loop.kick()
        fresh = await self._store.get_by_id(row.id)
        return record(fresh if fresh is not None else row)

    async def CreatePipeline(self, new: pb.NewPipeline, context: Any) -> Any:
        request = new.pipeline
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        name = pipeline_name("name", request.name)
        definition = definition_from(request)
        check_definition(definition)
        if definition.type == api.PIPELINE_TYPE_TEMPLATE and not new.jenkinsfile.strip():
            raise InvalidArgument("template: a template pipeline starts from a rendered template")
        if new.jenkinsfile and definition.type == api.PIPELINE_TYPE_SCM:
            raise InvalidArgument("template: an SCM pipeline reads its Jenkinsfile from Git")
        check_jenkinsfile(new.jenkinsfile)
        seal_passwords(definition, None, self._box)
        row = await self._store.create(workspace_id, name, definition, jenkinsfile=new.jenkinsfile)
        return await self._pushed(row)

    async def GetPipeline(self, request: pb.PipelineKey, context: Any) -> Any:
        name = pipeline_name("name", request.name)
        return record(await self._store.get(request.workspace_id, name))

    async def UpdatePipeline(self, request: api.UpdatePipelineRequest, context: Any) -> Any:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        name = pipeline_name("name", request.name)
        definition = definition_from(request)
        if request.type == api.PIPELINE_TYPE_UNSPECIFIED:
            # An update that does not say the type keeps it (an SCM pipeline stays one).
            stored = await self._store.get(workspace_id, name)
            definition.type = api.PipelineType.Value(TYPE_PREFIX + stored.type)
        check_definition(definition)

        def apply(row: Pipeline) -> None:
            seal_passwords(definition, from_spec(row.spec), self._box)
            row.spec = to_spec(definition)
            row.type = type_column(definition.type)
            row.group_id = definition.group.id or None

        return await self._pushed(await self._store.change(workspace_id, name, apply))

    async def DeletePipeline(self, request: pb.PipelineKey, context: Any) -> Any:
        name = pipeline_name("name", request.name)
        removal = await self._store.delete(request.workspace_id, name)
        if removal is not None and await self._pusher.remove(removal):
            self._loop.kick()
        return EMPTY

    async def ListPipelines(self, request: api.ListPipelinesRequest, context: Any) -> Any:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        page, page_size = paging.window(request.page, request.page_size)
        if request.sort_by not in types_pb2.PipelineSortBy.values():
            raise InvalidArgument(f"sortBy: unknown value {request.sort_by}")
        weathers = tuple(
            api.PipelineWeather.Name(w).removeprefix(WEATHER_PREFIX) for w in request.weather if w
        )
        query = ListQuery(
            workspace_id=workspace_id,
            page=page,
            page_size=page_size,
            sort_by=request.sort_by,
            ascending=request.sort_dir == types_pb2.ASC,
            search_name=request.search_name[:255],
            build_type=type_column(request.search_build_type) if request.search_build_type else "",
            group_id=request.group.id if request.HasField("group") and request.group.id else None,
            weathers=weathers,
            last_run_state=(
                api.PipelineRunState.Name(request.last_run_state) if request.last_run_state else ""
            ),
            disabled_only=request.disabled,
        )
        items, total = await self._store.list_page(query)
        described = paging.describe(page, page_size, total)
        return api.ListPipelinesResponse(
            items=items,
            pagination=types_pb2.Page(
                page=described.page,
                page_size=described.page_size,
                total=described.total,
                pages=described.pages,
            ),
        )

    async def RenamePipeline(self, request: api.UpdatePipelineNameRequest, context: Any) -> Any:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        name = pipeline_name("name", request.name)
        new_name = pipeline_name("newName", request.new_name)
        if new_name == name:
            return record(await self._store.get(workspace_id, name))

        def apply(row: Pipeline) -> None:
            row.name = new_name

        return await self._pushed(await self._store.change(workspace_id, name, apply))

    async def TogglePipeline(self, request: api.TogglePipelineRequest, context: Any) -> Any:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        name = pipeline_name("name", request.name)

        def apply(row: Pipeline) -> None:
            row.disabled = request.disable

        return await self._pushed(await self._store.change(workspace_id, name, apply))

    async def ReplicatePipeline(self, request: api.ReplicatePipelineRequest, context: Any) -> Any:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        source_name = pipeline_name("sourcePipelineName", request.source_pipeline_name)
        dest_name = pipeline_name("destPipelineName", request.dest_pipeline_name)
        source = await self._store.get(workspace_id, source_name)
        try:
            row = await self._store.create(
                workspace_id,
                dest_name,
                from_spec(source.spec),
                jenkinsfile=source.jenkinsfile,
                disabled=source.disabled,
            )
        except AlreadyExists:
            raise AlreadyExists(
                f"destPipelineName: pipeline {dest_name!r} already exists"
            ) from None
        return await self._pushed(row)

    async def SyncPipeline(self, request: pb.PipelineKey, context: Any) -> Any:
        name = pipeline_name("name", request.name)
        row = await self._store.get(request.workspace_id, name)
        if await self._pusher.push_in_request(row.id, force=True):
            self._loop.kick()
        fresh = await self._store.get_by_id(row.id)
        return record(fresh if fresh is not None else row)

    async def UpdateJenkinsfile(
        self, request: api.UpdatePipelineJenkinsfileRequest, context: Any
    ) -> Any:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        name = pipeline_name("name", request.name)
        check_jenkinsfile(request.jenkinsfile)

        def apply(row: Pipeline) -> None:
            if row.type == type_column(api.PIPELINE_TYPE_SCM):
                raise FailedPrecondition(
                    "jenkinsfile: an SCM pipeline reads its Jenkinsfile from the repository "
                    "(pipelineScm.jenkinsFilePath); change it there"
                )
            row.jenkinsfile = request.jenkinsfile

        return await self._pushed(await self._store.change(workspace_id, name, apply))

    async def ResyncWorkspace(self, request: pb.WorkspaceKey, context: Any) -> Any:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        pending = await self._store.mark_workspace_pending(workspace_id)
        self._loop.kick()
        return pb.ResyncResult(pending=pending)

    async def ConvergeWorkspace(self, request: pb.WorkspaceKey, context: Any) -> Any:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        done = await converge_workspace(workspace_id, self._store, self._pool, self._pusher)
        return pb.ConvergeResult(
            jenkins=done.instance,
            created=done.created,
            updated=done.updated,
            unchanged=done.unchanged,
            failed=done.failed,
        )

    async def ListRepositories(self, request: pb.RepositoriesRequest, context: Any) -> Any:
        workspace_id = None
        if request.workspace_id:
            workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        found = await self._store.repositories(workspace_id)
        return pb.Repositories(items=[pb.Repository(workspace_id=ws, url=url) for ws, url in found])

    async def PatchParameters(
        self, request: api.PatchPipelineParametersRequest, context: Any
    ) -> Any:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        name = pipeline_name("name", request.name)

        def apply(row: Pipeline) -> None:
            previous = from_spec(row.spec)
            patched = _patched(previous, request.operations)
            check_definition(patched)
            seal_passwords(patched, previous, self._box)
            row.spec = to_spec(patched)

        return await self._pushed(await self._store.change(workspace_id, name, apply))
