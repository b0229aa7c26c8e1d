"""The pipeline side of apiserver: the `Pipelines` service assembled from its parts, and the
services beside it.

`Pipelines` is one gRPC service with many methods; its implementation is split by topic into
mixins (definitions, runs, catalog), each in its own module. A method no mixin implements
falls through to the generated base class, which answers UNIMPLEMENTED.
"""

from __future__ import annotations

from amamba.pipeline.v1alpha1 import pipelines_pb2_grpc

from services.apiserver.pipelines.catalog import CatalogMethods, GlobalBuildParameterService
from services.apiserver.pipelines.definitions import DefinitionMethods
from services.apiserver.pipelines.deps import Deps
from services.apiserver.pipelines.jenkins import (
    JenkinsInstancesService,
    JenkinsManagementService,
    RunQuotasService,
)
from services.apiserver.pipelines.runs import RunMethods


class PipelinesService(
    DefinitionMethods, RunMethods, CatalogMethods, pipelines_pb2_grpc.PipelinesServicer
):
    pass


__all__ = [
    "Deps",
    "GlobalBuildParameterService",
    "JenkinsInstancesService",
    "JenkinsManagementService",
    "PipelinesService",
    "RunQuotasService",
]
