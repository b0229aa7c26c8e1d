"""Jenkins instances, each workspace's instance and run quota, and the Jenkins side of
management (agents, node labels, configuration reload)."""

from __future__ import annotations

from typing import Any

from amamba.pipeline.v1alpha1 import (
    jenkins_instances_pb2,
    jenkins_instances_pb2_grpc,
    management_pb2,
    management_pb2_grpc,
)
from google.protobuf import empty_pb2
from workbench_sdk.devops.v1 import jenkins_pb2 as sdk
from workbench_sdk.devops.v1 import pipelines_pb2

from libs.common import names
from libs.common.errors import Unavailable
from services.apiserver.pipelines.deps import UsesDeps

EMPTY = empty_pb2.Empty()


class JenkinsInstancesService(UsesDeps, jenkins_instances_pb2_grpc.JenkinsInstancesServicer):
    async def RegisterJenkins(
        self, request: jenkins_instances_pb2.RegisterJenkinsRequest, context: Any
    ) -> jenkins_instances_pb2.RegisterJenkinsResponse:
        created = await self.devops.call(self.devops.jenkins.RegisterJenkins, request)
        return jenkins_instances_pb2.RegisterJenkinsResponse(name=created.name)

    async def ListJenkins(
        self, request: jenkins_instances_pb2.ListJenkinsRequest, context: Any
    ) -> jenkins_instances_pb2.ListJenkinsResponse:
        listed: jenkins_instances_pb2.ListJenkinsResponse = await self.devops.call(
            self.devops.jenkins.ListJenkins, EMPTY
        )
        return listed

    async def RemoveJenkins(
        self, request: jenkins_instances_pb2.RemoveJenkinsRequest, context: Any
    ) -> empty_pb2.Empty:
        name = names.dns_label("name", request.name)
        await self.devops.call(self.devops.jenkins.RemoveJenkins, sdk.InstanceRef(name=name))
        return EMPTY

    async def SetWorkspaceJenkins(
        self, request: jenkins_instances_pb2.SetWorkspaceJenkinsRequest, context: Any
    ) -> empty_pb2.Empty:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        await self.devops.call(
            self.devops.jenkins.SetWorkspaceJenkins,
            sdk.WorkspaceJenkins(workspace_id=workspace_id, name=request.name),
        )
        return EMPTY


class RunQuotasService(UsesDeps, jenkins_instances_pb2_grpc.RunQuotasServicer):
    async def SetWorkspaceQuota(
        self, request: jenkins_instances_pb2.SetWorkspaceQuotaRequest, context: Any
    ) -> empty_pb2.Empty:
        workspace_id = names.workspace_id("workspaceId", request.workspace_id)
        await self.devops.call(
            self.devops.jenkins.SetWorkspaceQuota,
            sdk.WorkspaceQuota(
                workspace_id=workspace_id, max_concurrent_runs=request.max_concurrent_runs
            ),
        )
        return EMPTY


class JenkinsManagementService(UsesDeps, management_pb2_grpc.ManagementServicer):
    """The Jenkins side of management: its Kubernetes agents, and reloading Configuration as
    Code on every instance. Agents come from the CasC export of the default instance (the
    platform-wide list) or of a workspace's instance (its labels, for the pipeline editor).
    """

    async def ListPodTemplates(
        self, request: management_pb2.ListPodTemplatesRequest, context: Any
    ) -> management_pb2.ListPodTemplatesResponse:
        listed: management_pb2.ListPodTemplatesResponse = await self.devops.call(
            self.devops.jenkins.ListAgents, sdk.ListAgentsRequest()
        )
        return listed

    async def ListJenkinsNodeLabels(
        self, request: management_pb2.ListJenkinsNodeLabelsRequest, context: Any
    ) -> management_pb2.ListNodeLabelResponse:
        workspace_id = (
            names.workspace_id("workspaceId", request.workspace_id) if request.workspace_id else 0
        )
        listed = await self.devops.call(
            self.devops.jenkins.ListAgents, sdk.ListAgentsRequest(workspace_id=workspace_id)
        )
        by_label: dict[str, list[str]] = {}
        for agent in listed.agents:
            containers = by_label.setdefault(agent.label, [])
            containers += [c.name for c in agent.pod_template.pod.spec.containers]
        return management_pb2.ListNodeLabelResponse(
            items=[
                management_pb2.LabelContainers(label=label, containers=containers)
                for label, containers in sorted(by_label.items())
            ]
        )

    async def Reload(self, request: management_pb2.ReloadRequest, context: Any) -> empty_pb2.Empty:
        result: pipelines_pb2.ReloadResult = await self.devops.call(
            self.devops.management.Reload, EMPTY
        )
        if result.failures:
            failures = ", ".join(result.failures)
            raise Unavailable(f"Configuration as Code was not reloaded on {failures}")
        return EMPTY
