"""Templates (global and per workspace), pipeline groups, global build parameters, and the
users who may approve an input step.

The catalog lives in devops-server (SDK service `Catalog`); these handlers turn path and query
fields into SDK requests and pass the answers through, since the SDK answers in the API's own
messages. Authorisation has already happened against the rule table; the workspace in the path
is the only one a handler touches, which is what keeps one workspace's templates and groups
out of another's reach.

A workspace's template list with `global=true` also shows the enabled global templates: the
list a user picks a template from when creating a pipeline.
"""

from __future__ import annotations

from typing import Any

from amamba.pipeline.v1alpha1 import global_build_parameter_pb2 as gbp
from amamba.pipeline.v1alpha1 import global_build_parameter_pb2_grpc
from amamba.pipeline.v1alpha1 import pipelines_pb2 as api
from google.protobuf import empty_pb2
from workbench_sdk.devops.v1 import catalog_pb2 as sdk
from workbench_sdk.devops.v1 import tenancy_pb2

from libs.common import names, paging
from services.apiserver.core import page_message
from services.apiserver.pipelines.deps import UsesDeps

EMPTY = empty_pb2.Empty()

# The roles whose holders may approve (or abort) a pipeline's input step.
APPROVER_ROLES = ("workspace-admin", "workspace-editor")


class CatalogMethods(UsesDeps):
    async def _templates(
        self, request: Any, workspace_id: int, **scope: bool
    ) -> api.ListTemplatesResponse:
        page, page_size = paging.window(request.page, request.page_size)
        answer = await self.devops.call(
            self.devops.catalog.ListTemplates,
            sdk.ListTemplatesRequest(
                workspace_id=workspace_id,
                metadata_only=request.metadata_only,
                fuzzy_name=request.fuzzy_name,
                type=request.type,
                page=page,
                page_size=page_size,
                sort_by=request.sort_by,
                sort_dir=request.sort_dir,
                **scope,
            ),
        )
        return api.ListTemplatesResponse(
            items=answer.items,
            pagination=page_message(paging.describe(page, page_size, answer.total)),
        )

    async def _save(self, rpc: Any, workspace_id: int, request: Any) -> Any:
        return await self.devops.call(
            rpc,
            sdk.SaveTemplateRequest(
                workspace_id=workspace_id,
                name=request.name,
                description=request.description,
                spec=request.spec,
            ),
        )

    # Global templates

    async def ListGlobalTemplates(
        self, request: api.ListGlobalTemplatesRequest, context: Any
    ) -> api.ListTemplatesResponse:
        return await self._templates(request, 0, enabled_only=request.enabled)

    async def GetGlobalTemplate(self, request: api.GetGlobalTemplateRequest, context: Any) -> Any:
        return await self.devops.call(
            self.devops.catalog.GetTemplate,
            sdk.TemplateKey(workspace_id=0, name=request.name, raw=request.raw),
        )

    async def CreateGlobalTemplate(
        self, request: api.CreateGlobalTemplateRequest, context: Any
    ) -> Any:
        return await self._save(self.devops.catalog.CreateTemplate, 0, request)

    async def UpdateGlobalTemplate(
        self, request: api.UpdateGlobalTemplateRequest, context: Any
    ) -> Any:
        return await self._save(self.devops.catalog.UpdateTemplate, 0, request)

    async def DeleteGlobalTemplate(
        self, request: api.DeleteGlobalTemplateRequest, context: Any
    ) -> Any:
        await self.devops.call(
            self.devops.catalog.DeleteTemplate, sdk.TemplateKey(workspace_id=0, name=request.name)
        )
        return EMPTY

    async def EnableTemplate(self, request: api.EnableTemplateRequest, context: Any) -> Any:
        await self.devops.call(
            self.devops.catalog.SetTemplateEnabled,
            sdk.SetTemplateEnabledRequest(name=request.name, enabled=True),
        )
        return EMPTY

    async def DisableTemplate(self, request: api.DisableTemplateRequest, context: Any) -> Any:
        await self.devops.call(
            self.devops.catalog.SetTemplateEnabled,
            sdk.SetTemplateEnabledRequest(name=request.name, enabled=False),
        )
        return EMPTY

    # Workspace templates

    async def ListTemplates(
        self, request: api.ListTemplatesRequest, context: Any
    ) -> api.ListTemplatesResponse:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        return await self._templates(request, workspace_id, include_global=request.global_)

    async def GetTemplate(self, request: api.GetTemplateRequest, context: Any) -> Any:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        return await self.devops.call(
            self.devops.catalog.GetTemplate,
            sdk.TemplateKey(workspace_id=workspace_id, name=request.name, raw=request.raw),
        )

    async def CreateTemplate(self, request: api.CreateTemplateRequest, context: Any) -> Any:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        return await self._save(self.devops.catalog.CreateTemplate, workspace_id, request)

    async def UpdateTemplate(self, request: api.UpdateTemplateRequest, context: Any) -> Any:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        return await self._save(self.devops.catalog.UpdateTemplate, workspace_id, request)

    async def DeleteTemplate(self, request: api.DeleteTemplateRequest, context: Any) -> Any:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        await self.devops.call(
            self.devops.catalog.DeleteTemplate,
            sdk.TemplateKey(workspace_id=workspace_id, name=request.name),
        )
        return EMPTY

    # Groups

    async def ListGroups(
        self, request: api.ListGroupsRequest, context: Any
    ) -> api.ListGroupsResponse:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        answer = await self.devops.call(
            self.devops.catalog.ListGroups,
            sdk.ListGroupsRequest(workspace_id=workspace_id, fuzzy_name=request.fuzzy_name),
        )
        return api.ListGroupsResponse(items=answer.items)

    async def CreateGroup(self, request: api.CreateGroupRequest, context: Any) -> Any:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        return await self.devops.call(
            self.devops.catalog.CreateGroup,
            sdk.CreateGroupRequest(workspace_id=workspace_id, name=request.name),
        )

    async def DeleteGroup(self, request: api.DeleteGroupRequest, context: Any) -> Any:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        await self.devops.call(
            self.devops.catalog.DeleteGroup, sdk.GroupKey(workspace_id=workspace_id, id=request.id)
        )
        return EMPTY

    # Approvers

    async def ListApprovalPermissionUsers(
        self, request: api.ListApprovalPermissionUsersRequest, context: Any
    ) -> api.ListApprovalPermissionUserResponse:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        answer = await self.devops.call(
            self.devops.tenancy.ListMembers, tenancy_pb2.WorkspaceRef(id=workspace_id)
        )
        # `type` tells a user from a group of users; Workbench grants roles to users only.
        return api.ListApprovalPermissionUserResponse(
            items=[
                api.Member(name=m.username, type="user")
                for m in answer.items
                if m.role in APPROVER_ROLES
            ]
        )


class GlobalBuildParameterService(
    UsesDeps, global_build_parameter_pb2_grpc.GlobalBuildParameterServicer
):
    async def ListGlobalBuildParameter(
        self, request: gbp.ListGlobalBuildParameterRequest, context: Any
    ) -> gbp.ListGlobalBuildParameterResponse:
        page, page_size = paging.window(request.page, request.page_size)
        answer = await self.devops.call(
            self.devops.catalog.ListGlobalBuildParameters,
            sdk.ListGlobalBuildParametersRequest(
                fuzzy_name=request.fuzzy_name,
                page=page,
                page_size=page_size,
                sort_by=request.sort_by,
                sort_dir=request.sort_dir,
            ),
        )
        return gbp.ListGlobalBuildParameterResponse(
            items=answer.items,
            pagination=page_message(paging.describe(page, page_size, answer.total)),
        )

    async def CreateGlobalBuildParameter(
        self, request: gbp.CreateGlobalBuildParameterRequest, context: Any
    ) -> Any:
        return await self.devops.call(self.devops.catalog.CreateGlobalBuildParameter, request)

    async def UpdateGlobalBuildParameter(
        self, request: gbp.UpdateGlobalBuildParameterRequest, context: Any
    ) -> Any:
        return await self.devops.call(self.devops.catalog.UpdateGlobalBuildParameter, request)

    async def DeleteGlobalBuildParameter(
        self, request: gbp.DeleteGlobalBuildParameterRequest, context: Any
    ) -> Any:
        await self.devops.call(self.devops.catalog.DeleteGlobalBuildParameter, request)
        return EMPTY
