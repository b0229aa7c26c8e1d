"""apiserver: the stateless entry point, gRPC and transcoded REST from the same services.

Every call, whichever door it comes through, runs the same interceptor chain: observability
(request id, log line, metrics), error mapping, then authentication and authorisation against
the rule table. The REST side is the generic gateway of `libs.transcoding`, which reads the
`google.api.http` bindings of the services registered here and dispatches in process; a
request it refuses before dispatch (bad input, an unknown path) gets the same log line and
metrics from `_record_refusal`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from amamba.core.v1alpha1 import (
    core_pb2,
    core_pb2_grpc,
    management_pb2,
    management_pb2_grpc,
    tenancy_pb2,
    tenancy_pb2_grpc,
)
from amamba.credential.v1alpha1 import credentials_pb2, credentials_pb2_grpc
from amamba.pipeline.v1alpha1 import (
    global_build_parameter_pb2,
    global_build_parameter_pb2_grpc,
    jenkins_instances_pb2,
    jenkins_instances_pb2_grpc,
    pipelines_pb2,
    pipelines_pb2_grpc,
    run_watch_pb2,
    run_watch_pb2_grpc,
)
from amamba.pipeline.v1alpha1 import management_pb2 as pipeline_management_pb2
from amamba.pipeline.v1alpha1 import management_pb2_grpc as pipeline_management_pb2_grpc
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from workbench_sdk.devops.v1 import tenancy_pb2 as sdk

from libs.auth.tokens import TokenVerifier
from libs.common.config import Settings
from libs.common.http_server import BackgroundHttp
from libs.devops_client import DevopsClient
from libs.kube.clusters import ClusterClients
from libs.rpc.interceptors import ErrorInterceptor, ObservabilityInterceptor, record
from libs.rpc.server import (
    HealthServicer,
    add_health_and_reflection,
    create_server,
    stop_serving,
)
from libs.transcoding import Gateway, Refusal, handlers_from_servicer, log_refusal
from services.apiserver.auth import AuthInterceptor
from services.apiserver.core import CoreService, ManagementService, TenancyService
from services.apiserver.credentials import CredentialsService
from services.apiserver.pipelines import (
    Deps,
    GlobalBuildParameterService,
    JenkinsInstancesService,
    JenkinsManagementService,
    PipelinesService,
    RunQuotasService,
)
from services.apiserver.pipelines.run_watch import RunWatchService

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Registration:
    """A servicer, its service's full name and the generated function that registers it."""

    service: str
    add: Callable[[Any, Any], None]
    servicer: Any


class ApiServer:
    def __init__(self, settings: Settings) -> None:
        if not settings.internal_token:
            raise ValueError("apiserver needs WORKBENCH_INTERNAL_TOKEN")
        self.settings = settings
        self.devops = DevopsClient(settings.devops_address, settings.internal_token)
        self.clusters = ClusterClients(self._kubeconfig)
        verifier = TokenVerifier(
            secret=settings.jwt_secret,
            jwks_url=settings.oidc_jwks_url,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            jwks_refetch_seconds=settings.oidc_jwks_refetch_seconds,
        )
        self.interceptors: list[grpc.aio.ServerInterceptor] = [
            ObservabilityInterceptor(),
            ErrorInterceptor(),
            AuthInterceptor(
                verifier,
                self.devops,
                settings.platform_admins,
                role_cache_seconds=settings.role_cache_seconds,
            ),
        ]
        self.registrations = [
            Registration(
                _full_name(core_pb2, "Core"),
                core_pb2_grpc.add_CoreServicer_to_server,
                CoreService(self.devops, self.clusters),
            ),
            Registration(
                _full_name(management_pb2, "Management"),
                management_pb2_grpc.add_ManagementServicer_to_server,
                ManagementService(self.devops),
            ),
            Registration(
                _full_name(tenancy_pb2, "Tenancy"),
                tenancy_pb2_grpc.add_TenancyServicer_to_server,
                TenancyService(self.devops, self.clusters),
            ),
            *self._pipeline_registrations(Deps(settings, self.devops, self.clusters)),
        ]
        self._grpc = create_server(self.interceptors)
        self._health: HealthServicer | None = None
        self._http = BackgroundHttp(
            self.rest_app(), settings.bind_host, settings.apiserver_http_port
        )
        self.grpc_port = 0
        self.http_port = 0

    @staticmethod
    def _pipeline_registrations(deps: Deps) -> list[Registration]:
        return [
            Registration(
                _full_name(pipelines_pb2, "Pipelines"),
                pipelines_pb2_grpc.add_PipelinesServicer_to_server,
                PipelinesService(deps),
            ),
            Registration(
                _full_name(global_build_parameter_pb2, "GlobalBuildParameter"),
                global_build_parameter_pb2_grpc.add_GlobalBuildParameterServicer_to_server,
                GlobalBuildParameterService(deps),
            ),
            Registration(
                _full_name(pipeline_management_pb2, "Management"),
                pipeline_management_pb2_grpc.add_ManagementServicer_to_server,
                JenkinsManagementService(deps),
            ),
            Registration(
                _full_name(jenkins_instances_pb2, "JenkinsInstances"),
                jenkins_instances_pb2_grpc.add_JenkinsInstancesServicer_to_server,
                JenkinsInstancesService(deps),
            ),
            Registration(
                _full_name(jenkins_instances_pb2, "RunQuotas"),
                jenkins_instances_pb2_grpc.add_RunQuotasServicer_to_server,
                RunQuotasService(deps),
            ),
            Registration(
                _full_name(credentials_pb2, "Credentials"),
                credentials_pb2_grpc.add_CredentialsServicer_to_server,
                CredentialsService(deps),
            ),
            Registration(
                _full_name(run_watch_pb2, "RunWatch"),
                run_watch_pb2_grpc.add_RunWatchServicer_to_server,
                RunWatchService(deps),
            ),
        ]

    async def _kubeconfig(self, cluster: str) -> str:
        access = await self.devops.call(
            self.devops.tenancy.GetClusterAccess, sdk.ClusterRef(name=cluster)
        )
        kubeconfig: str = access.kubeconfig
        return kubeconfig

    def rest_app(self) -> FastAPI:
        handlers = [
            handler
            for r in self.registrations
            for handler in handlers_from_servicer(r.add, r.servicer)
        ]
        gateway = Gateway(
            handlers,
            interceptors=self.interceptors,
            max_body_bytes=self.settings.max_body_bytes,
            on_refused=_record_refusal,
            title="Workbench API",
        )
        app = gateway.app

        @app.get("/healthz", include_in_schema=False)
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/metrics", include_in_schema=False)
        async def metrics() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        return app

    async def start(self) -> None:
        for registration in self.registrations:
            registration.add(registration.servicer, self._grpc)
        services = [r.service for r in self.registrations]
        self._health = await add_health_and_reflection(self._grpc, services)
        host = self.settings.bind_host
        self.grpc_port = self._grpc.add_insecure_port(f"{host}:{self.settings.apiserver_grpc_port}")
        await self._grpc.start()

        self.http_port = await self._http.start()
        logger.info("apiserver serving gRPC on %s, REST on %s", self.grpc_port, self.http_port)

    async def stop(self) -> None:
        await stop_serving(self._grpc, self._health, grace=1)
        await self._http.stop()
        await self.clusters.close()
        await self.devops.close()

    async def wait(self) -> None:
        await self._grpc.wait_for_termination()


def _record_refusal(refusal: Refusal) -> None:
    """A REST request refused before dispatch: its log line, and counted like any call."""
    log_refusal(refusal)
    record(refusal.method, refusal.code.name, refusal.seconds)


def _full_name(module: Any, service: str) -> str:
    name: str = module.DESCRIPTOR.services_by_name[service].full_name
    return name
