"""devops-server: the process that owns PostgreSQL.

It serves the internal gRPC SDK (tenancy now; pipelines, runs and events as they come) on the
gRPC port, and health, readiness and Prometheus metrics on the HTTP port, where Jenkins events
will also arrive. Start-up order: database reachable, schema migrated, change feed listening,
then the ports open, so a ready server is a working one.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from workbench_sdk.devops.v1 import (
    catalog_pb2,
    catalog_pb2_grpc,
    jenkins_pb2,
    jenkins_pb2_grpc,
    pipelines_pb2,
    pipelines_pb2_grpc,
    runs_pb2,
    runs_pb2_grpc,
    tenancy_pb2,
    tenancy_pb2_grpc,
)

from libs.common.config import Settings
from libs.common.http_server import BackgroundHttp
from libs.rpc.interceptors import ErrorInterceptor, ObservabilityInterceptor
from libs.rpc.internal import InternalTokenInterceptor
from libs.rpc.server import (
    HealthServicer,
    add_health_and_reflection,
    create_server,
    stop_serving,
)
from services.devops_server.catalog.service import CatalogService
from services.devops_server.catalog.store import CatalogStore
from services.devops_server.ci.dispatch import Dispatcher
from services.devops_server.ci.instances import InstanceStore, JenkinsPool
from services.devops_server.ci.instances_service import JenkinsInstancesService
from services.devops_server.ci.management_service import JenkinsManagementService
from services.devops_server.ci.pipelines import PipelineStore
from services.devops_server.ci.pipelines_service import PipelineDefinitionsService
from services.devops_server.ci.resync import Resync
from services.devops_server.ci.run_watch import RunFeed, RunWatch
from services.devops_server.ci.runs import RunStore
from services.devops_server.ci.runs_service import RunsService
from services.devops_server.ci.sync import JobPusher, SyncLoop
from services.devops_server.crypto import SecretBox
from services.devops_server.events import receiver
from services.devops_server.events.items import ItemApplier
from services.devops_server.events.recorder import EventRecorder
from services.devops_server.store.engine import create_engine, migrate, sessions
from services.devops_server.tenancy.service import TenancyService
from services.devops_server.tenancy.store import TenancyStore
from services.devops_server.tenancy.watch import ChangeFeed

logger = logging.getLogger(__name__)


def http_app(*routers: APIRouter) -> FastAPI:
    app = FastAPI(title="devops-server", docs_url=None, redoc_url=None, openapi_url=None)
    for extra in routers:
        app.include_router(extra)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        """Readiness: the ports open only once the database is migrated."""
        return {"status": "ready"}

    @app.get("/metrics")
    async def metrics() -> Response:
        """Prometheus metrics of this process."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


class DevopsServer:
    def __init__(self, settings: Settings) -> None:
        if not settings.database_url:
            raise ValueError("devops-server needs WORKBENCH_DATABASE_URL (or DATABASE_URL)")
        if not settings.internal_token or not settings.encryption_key:
            raise ValueError(
                "devops-server needs WORKBENCH_INTERNAL_TOKEN and WORKBENCH_ENCRYPTION_KEY"
            )
        self.settings = settings
        self._database_url = settings.database_url
        self._engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
        box = SecretBox(settings.encryption_key)
        self.sessions = sessions(self._engine)
        self.store = TenancyStore(self.sessions, box)
        self.instances = InstanceStore(self.sessions, box)
        self.jenkins = JenkinsPool(self.instances)
        self.pipelines = PipelineStore(self.sessions)
        self.pipeline_pusher = JobPusher(
            self.pipelines,
            self.jenkins,
            box,
            concurrency=max(1, settings.database_pool_size // 2),
        )
        self.pipeline_sync = SyncLoop(self.pipelines, self.pipeline_pusher)
        self._pipelines_service = PipelineDefinitionsService(
            self.pipelines, self.pipeline_pusher, self.pipeline_sync, box, self.jenkins
        )
        self.runs = RunStore(self.sessions)
        self.dispatcher = Dispatcher(
            self.runs,
            self.instances,
            self.jenkins,
            box,
            pusher=self.pipeline_pusher,
            dsn=settings.database_url.replace("+asyncpg", ""),
        )
        self.run_feed = RunFeed(settings.database_url.replace("+asyncpg", ""))
        self.run_watch = RunWatch(self.sessions, self.run_feed)
        self._runs_service = RunsService(self.runs, self.dispatcher, box, self.run_watch)
        self._feed = ChangeFeed(self.store, settings.database_url.replace("+asyncpg", ""))
        self._grpc = create_server(
            [
                ObservabilityInterceptor(),
                ErrorInterceptor(),
                InternalTokenInterceptor(settings.internal_token),
            ]
        )
        self._health: HealthServicer | None = None
        self.resync = Resync(self.sessions, self.jenkins, self.pipeline_pusher)
        self.pipeline_pusher.on_pushed = self.resync.remember_pushed
        self.events = EventRecorder(self.sessions, ItemApplier(self.resync.kick))
        events = receiver.router(self.events, self.instances, settings.internal_token)
        self._http = BackgroundHttp(http_app(events), settings.bind_host, settings.devops_http_port)
        self.grpc_port = 0
        self.http_port = 0

    async def start(self) -> None:
        await migrate(self._database_url)
        await self._feed.start()
        await self.run_feed.start()

        tenancy_pb2_grpc.add_TenancyServicer_to_server(
            TenancyService(self.store, self._feed), self._grpc
        )
        jenkins_pb2_grpc.add_JenkinsInstancesServicer_to_server(
            JenkinsInstancesService(self.instances, self.jenkins), self._grpc
        )
        runs_pb2_grpc.add_RunsServicer_to_server(self._runs_service, self._grpc)
        pipelines_pb2_grpc.add_PipelineDefinitionsServicer_to_server(
            self._pipelines_service, self._grpc
        )
        pipelines_pb2_grpc.add_JenkinsManagementServicer_to_server(
            JenkinsManagementService(self.instances, self.jenkins), self._grpc
        )
        catalog = CatalogStore(sessions(self._engine))
        await catalog.install_builtins()
        catalog_pb2_grpc.add_CatalogServicer_to_server(CatalogService(catalog), self._grpc)
        self._health = await add_health_and_reflection(
            self._grpc,
            [
                tenancy_pb2.DESCRIPTOR.services_by_name["Tenancy"].full_name,
                jenkins_pb2.DESCRIPTOR.services_by_name["JenkinsInstances"].full_name,
                runs_pb2.DESCRIPTOR.services_by_name["Runs"].full_name,
                catalog_pb2.DESCRIPTOR.services_by_name["Catalog"].full_name,
                pipelines_pb2.DESCRIPTOR.services_by_name["PipelineDefinitions"].full_name,
                pipelines_pb2.DESCRIPTOR.services_by_name["JenkinsManagement"].full_name,
            ],
        )
        host = self.settings.bind_host
        self.grpc_port = self._grpc.add_insecure_port(f"{host}:{self.settings.devops_grpc_port}")
        await self._grpc.start()
        self.pipeline_sync.start()
        self.resync.start()

        self.http_port = await self._http.start()
        await self.dispatcher.start()
        logger.info("devops-server serving gRPC on %s, HTTP on %s", self.grpc_port, self.http_port)

    async def stop(self) -> None:
        await stop_serving(self._grpc, self._health, grace=1)  # first: health drains callers
        await self.resync.stop()
        await self.pipeline_sync.stop()
        await self.dispatcher.stop()
        await self._http.stop()
        await self._feed.stop()
        await self.run_feed.stop()
        await self.jenkins.close()
        await self._engine.dispose()

    async def wait(self) -> None:
        await self._grpc.wait_for_termination()
