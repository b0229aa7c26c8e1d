"""Jenkins instances, each workspace's instance and run quota, and the Jenkins side of
management (agents, node labels, configuration reload)."""

from __future__ import annotations

from amamba.pipeline.v1alpha1 import (
    jenkins_instances_pb2_grpc,
    management_pb2_grpc,
)

from services.apiserver.pipelines.deps import UsesDeps


class JenkinsInstancesService(UsesDeps, jenkins_instances_pb2_grpc.JenkinsInstancesServicer):
    pass


class RunQuotasService(UsesDeps, jenkins_instances_pb2_grpc.RunQuotasServicer):
    pass


class JenkinsManagementService(UsesDeps, management_pb2_grpc.ManagementServicer):
    pass
