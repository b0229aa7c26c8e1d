"""Workspace credentials, kept as Kubernetes Secrets in the control-plane cluster."""

from __future__ import annotations

from amamba.credential.v1alpha1 import credentials_pb2_grpc

from services.apiserver.pipelines.deps import UsesDeps


class CredentialsService(UsesDeps, credentials_pb2_grpc.CredentialsServicer):
    pass
