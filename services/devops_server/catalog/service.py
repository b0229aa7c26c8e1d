"""The Catalog service of devops-server's internal SDK (`workbench.devops.v1.Catalog`)."""

from __future__ import annotations

from typing import Any

from amamba.pipeline.v1alpha1 import global_build_parameter_pb2 as gbp
from amamba.pipeline.v1alpha1 import pipelines_pb2 as api
from google.protobuf import empty_pb2
from workbench_sdk.devops.v1 import catalog_pb2 as pb
from workbench_sdk.devops.v1 import catalog_pb2_grpc

from libs.common.errors import InvalidArgument
from services.devops_server.catalog.spec import Parameter
from services.devops_server.catalog.store import CatalogStore
from services.devops_server.catalog.tables import GlobalBuildParameter, PipelineGroup, Template
from services.devops_server.tenancy.store import millis

EMPTY = empty_pb2.Empty()

PARAMETER_TYPES = {
    "string": api.TEMPLATE_PARAMETER_TYPE_STRING,
    "text": api.TEMPLATE_PARAMETER_TYPE_TEXT,
    "boolean": api.TEMPLATE_PARAMETER_TYPE_BOOLEAN,
    "choice": api.TEMPLATE_PARAMETER_TYPE_CHOICE,
    "password": api.TEMPLATE_PARAMETER_TYPE_PASSWORD,
    "credential": api.TEMPLATE_PARAMETER_TYPE_CREDENTIAL,
    "target": api.TEMPLATE_PARAMETER_TYPE_TARGET,
}
TEMPLATE_TYPES = {"BUILTIN": api.TEMPLATE_TYPE_BUILTIN, "CUSTOM": api.TEMPLATE_TYPE_CUSTOM}
TYPE_NAMES = {number: name for name, number in TEMPLATE_TYPES.items()}


def template_message(row: Template, *, metadata_only: bool = False, raw: bool = False) -> Any:
    message = api.Template(
        name=row.name,
        description=row.description,
        type=TEMPLATE_TYPES.get(row.type, api.TEMPLATE_TYPE_UNSPECIFIED),
        created_at=millis(row.created_at),
        updated_at=millis(row.updated_at),
        enabled=row.enabled,
        global_=row.workspace_id is None,
    )
    if raw:
        message.raw = row.spec
    if not metadata_only:
        message.jenkinsfile = row.jenkinsfile
        for stored in row.parameters:
            parameter = Parameter.from_json(stored)
            message.parameters.append(
                api.TemplateParameterDefinition(
                    name=parameter.name,
                    display_name=parameter.display_name,
                    default_value=parameter.default_text,
                    type=PARAMETER_TYPES[parameter.type],
                    description=parameter.description,
                )
            )
    return message


def group_message(row: PipelineGroup) -> Any:
    return api.Group(id=row.id, workspace_id=str(row.workspace_id), name=row.name)


def parameter_message(row: GlobalBuildParameter) -> Any:
    return gbp.GlobalBuildParameterInstance(name=row.name, choice_list_text=row.choices)


class CatalogService(catalog_pb2_grpc.CatalogServicer):
    def __init__(self, store: CatalogStore) -> None:
        self._store = store

    # Templates

    async def ListTemplates(self, request: pb.ListTemplatesRequest, context: Any) -> Any:
        if request.type not in (api.TEMPLATE_TYPE_UNSPECIFIED, *TYPE_NAMES):
            raise InvalidArgument(f"type: {request.type} is not a template type")
        rows, total = await self._store.list_templates(
            request.workspace_id,
            include_global=request.include_global,
            enabled_only=request.enabled_only,
            fuzzy_name=request.fuzzy_name,
            template_type=TYPE_NAMES.get(request.type, ""),
            page=request.page,
            page_size=request.page_size,
            sort_by=request.sort_by,
            sort_dir=request.sort_dir,
        )
        return pb.ListTemplatesResponse(
            items=[template_message(r, metadata_only=request.metadata_only) for r in rows],
            total=total,
        )

    async def GetTemplate(self, request: pb.TemplateKey, context: Any) -> Any:
        row = await self._store.get_template(request.workspace_id, request.name)
        return template_message(row, raw=request.raw)

    async def CreateTemplate(self, request: pb.SaveTemplateRequest, context: Any) -> Any:
        row = await self._store.create_template(
            request.workspace_id, request.name, request.description, request.spec
        )
        return template_message(row)

    async def UpdateTemplate(self, request: pb.SaveTemplateRequest, context: Any) -> Any:
        row = await self._store.update_template(
            request.workspace_id, request.name, request.description, request.spec
        )
        return template_message(row)

    async def DeleteTemplate(self, request: pb.TemplateKey, context: Any) -> Any:
        await self._store.delete_template(request.workspace_id, request.name)
        return EMPTY

    async def SetTemplateEnabled(self, request: pb.SetTemplateEnabledRequest, context: Any) -> Any:
        await self._store.set_template_enabled(request.name, request.enabled)
        return EMPTY

    async def RenderTemplate(self, request: pb.RenderTemplateRequest, context: Any) -> Any:
        jenkinsfile = await self._store.render_template(
            request.workspace_id, request.name, request.global_, request.parameters
        )
        return pb.RenderTemplateResponse(jenkinsfile=jenkinsfile)

    # Groups

    async def ListGroups(self, request: pb.ListGroupsRequest, context: Any) -> Any:
        rows = await self._store.list_groups(request.workspace_id, request.fuzzy_name)
        return pb.ListGroupsResponse(items=[group_message(r) for r in rows])

    async def GetGroup(self, request: pb.GroupKey, context: Any) -> Any:
        return group_message(await self._store.get_group(request.workspace_id, request.id))

    async def CreateGroup(self, request: pb.CreateGroupRequest, context: Any) -> Any:
        return group_message(await self._store.create_group(request.workspace_id, request.name))

    async def DeleteGroup(self, request: pb.GroupKey, context: Any) -> Any:
        await self._store.delete_group(request.workspace_id, request.id)
        return EMPTY

    # Global build parameters

    async def ListGlobalBuildParameters(
        self, request: pb.ListGlobalBuildParametersRequest, context: Any
    ) -> Any:
        rows, total = await self._store.list_parameters(
            fuzzy_name=request.fuzzy_name,
            page=request.page,
            page_size=request.page_size,
            sort_by=request.sort_by,
            sort_dir=request.sort_dir,
        )
        return pb.ListGlobalBuildParametersResponse(
            items=[parameter_message(r) for r in rows], total=total
        )

    async def CreateGlobalBuildParameter(
        self, request: gbp.CreateGlobalBuildParameterRequest, context: Any
    ) -> Any:
        row = await self._store.create_parameter(request.name, list(request.choice_list_text))
        return parameter_message(row)

    async def UpdateGlobalBuildParameter(
        self, request: gbp.UpdateGlobalBuildParameterRequest, context: Any
    ) -> Any:
        row = await self._store.update_parameter(
            request.old_name, request.name, list(request.choice_list_text)
        )
        return parameter_message(row)

    async def DeleteGlobalBuildParameter(
        self, request: gbp.DeleteGlobalBuildParameterRequest, context: Any
    ) -> Any:
        await self._store.delete_parameter(request.name)
        return EMPTY
