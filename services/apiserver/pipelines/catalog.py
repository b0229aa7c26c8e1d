"""Templates (global and per workspace), pipeline groups and global build parameters."""

from __future__ import annotations

from amamba.pipeline.v1alpha1 import global_build_parameter_pb2_grpc

from services.apiserver.pipelines.deps import UsesDeps


class CatalogMethods(UsesDeps):
    pass


class GlobalBuildParameterService(
    UsesDeps, global_build_parameter_pb2_grpc.GlobalBuildParameterServicer
):
    pass
