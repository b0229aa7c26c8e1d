"""The JenkinsInstances service of devops-server's internal SDK."""

from __future__ import annotations

from typing import Any

from amamba.pipeline.v1alpha1 import jenkins_instances_pb2 as api
from amamba.pipeline.v1alpha1 import management_pb2 as management_api
from google.protobuf import empty_pb2, json_format
from workbench_sdk.devops.v1 import jenkins_pb2 as pb
from workbench_sdk.devops.v1 import jenkins_pb2_grpc

from libs.common import names
from libs.common.errors import FailedPrecondition, InvalidArgument
from libs.jenkins import JenkinsClient, JenkinsError, JenkinsUnauthorized, JenkinsUnreachable
from services.devops_server.ci.agents import agents
from services.devops_server.ci.instances import (
    InstanceStore,
    JenkinsPool,
    check_address,
    check_casc,
    check_url,
)
from services.devops_server.store.tables import JenkinsInstance

EMPTY = empty_pb2.Empty()


def instance_message(row: JenkinsInstance) -> api.JenkinsInstance:
    """An instance as the API shows it: never its token."""
    message = api.JenkinsInstance(
        name=row.name, address=row.address, username=row.username, default=row.is_default
    )
    json_format.ParseDict(row.options, message, ignore_unknown_fields=True)
    return message


class JenkinsInstancesService(jenkins_pb2_grpc.JenkinsInstancesServicer):
    def __init__(self, store: InstanceStore, pool: JenkinsPool) -> None:
        self._store = store
        self._pool = pool

    async def RegisterJenkins(self, request: api.RegisterJenkinsRequest, context: Any) -> Any:
        names.dns_label("name", request.name)
        config = request.config
        address = check_address(config.address)
        if not config.username:
            raise InvalidArgument("config.username: must not be empty")
        if not config.password:
            raise InvalidArgument("config.password: the user's API token is required")
        if request.event_proxy_url:
            check_url("eventProxyUrl", request.event_proxy_url)
        if request.casc:
            check_casc(request.casc)

        try:
            async with JenkinsClient(address, config.username, config.password) as jenkins:
                await jenkins.version()
        except JenkinsUnauthorized:
            raise FailedPrecondition(
                f"Jenkins at {address} refused user {config.username!r}: check the API token"
            ) from None
        except JenkinsUnreachable:
            raise FailedPrecondition(f"Jenkins at {address} does not answer") from None
        except JenkinsError as error:
            raise FailedPrecondition(f"Jenkins at {address} answered oddly: {error}") from None

        options = json_format.MessageToDict(config)
        for key in ("address", "username", "password"):
            options.pop(key, None)
        if request.event_proxy_url:
            options["eventProxyUrl"] = request.event_proxy_url
        if request.casc:
            options["casc"] = request.casc
        row = await self._store.register(
            request.name,
            address,
            config.username,
            config.password,
            default=request.default,
            options=options,
        )
        await self._pool.forget(request.name)
        return instance_message(row)

    async def ListJenkins(self, request: empty_pb2.Empty, context: Any) -> Any:
        rows = await self._store.list()
        return api.ListJenkinsResponse(items=[instance_message(r) for r in rows])

    async def RemoveJenkins(self, request: pb.InstanceRef, context: Any) -> Any:
        await self._store.remove(request.name)
        await self._pool.forget(request.name)
        return EMPTY

    async def GetInstanceAccess(self, request: pb.InstanceRef, context: Any) -> Any:
        access = await self._store.access(request.name)
        return pb.InstanceAccess(
            name=access.name, address=access.address, username=access.username, token=access.token
        )

    async def SetWorkspaceJenkins(self, request: pb.WorkspaceJenkins, context: Any) -> Any:
        await self._store.set_workspace_jenkins(request.workspace_id, request.name)
        return EMPTY

    async def ForgetPreviousJenkins(self, request: pb.WorkspaceJenkins, context: Any) -> Any:
        await self._store.forget_previous(request.workspace_id, request.name)
        return EMPTY

    async def SetWorkspaceQuota(self, request: pb.WorkspaceQuota, context: Any) -> Any:
        await self._store.set_quota(request.workspace_id, request.max_concurrent_runs)
        return EMPTY

    async def ListAgents(self, request: pb.ListAgentsRequest, context: Any) -> Any:
        if request.workspace_id:
            _, jenkins = await self._pool.for_workspace(request.workspace_id)
        else:
            default = await self._store.default_instance()
            if not default:
                raise FailedPrecondition("no Jenkins instance is registered; register one first")
            jenkins = await self._pool.client(default)
        return management_api.ListPodTemplatesResponse(agents=agents(await jenkins.casc_export()))

    async def GetWorkspaceCI(self, request: pb.WorkspaceCIRef, context: Any) -> Any:
        settings = await self._store.workspace_ci(request.workspace_id, previous=True)
        return pb.WorkspaceCI(
            workspace_id=settings.workspace_id,
            jenkins=settings.jenkins,
            max_concurrent_runs=settings.max_concurrent_runs,
            previous=[
                pb.PreviousJenkins(name=name, unfinished_runs=unfinished)
                for name, unfinished in settings.previous
            ],
        )
