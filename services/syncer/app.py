"""syncer: the process that keeps Argo CD, KubeVela, each workspace's Jenkins folder, jobs
and credentials, and each Jenkins instance's Configuration as Code consistent with
devops-server and the credential Secrets.

One syncer leads at a time. Every instance campaigns for the Lease `workbench-syncer` in the
namespace `workbench-system` of the control-plane cluster (the namespace is created if it
is missing); the leader runs the `Reconcilers`, a standby only renews its claim to take
over, which it does within a lease duration once the leader stops renewing (at once when a
leader stops cleanly and releases the lease).

The HTTP port serves:

- `/healthz`: the process answers;
- `/readyz`: 200 once the leader has finished its first full sync, and always on a standby
  (it has nothing to be ready for) or when no control-plane cluster is configured; 503
  while a new leader is still converging;
- `/metrics`: queue depth, reconciles by result, reconcile latency and retries per
  controller (`workbench_controller_*`), writes that repaired drift
  (`workbench_syncer_repairs_total`), KubeVela Applications found outside their workspace's
  namespace (`workbench_syncer_stray_applications_total`), Jenkins items nobody owns
  (`workbench_syncer_jenkins_unknown_jobs`, `..._folders`), instances refusing the
  configuration rendered for them (`workbench_syncer_casc_rejected`), and leadership
  (`workbench_controller_leader`).

Without `WORKBENCH_CONTROL_PLANE_KUBECONFIG` there is nothing to reconcile: the syncer says
so once and only serves health.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from pathlib import Path
from typing import Any, cast

import yaml
from fastapi import FastAPI, Response
from kubernetes_asyncio import client
from kubernetes_asyncio import config as kube_config
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config.config_exception import ConfigException
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from libs.common.config import Settings
from libs.common.http_server import BackgroundHttp
from libs.controller import LeaderElector
from libs.devops_client import DevopsClient
from libs.kube.transport import skip_environment_lookups
from services.syncer.reconcilers import Reconcilers, SyncerOptions

__all__ = ["LEASE_NAME", "LEASE_NAMESPACE", "Syncer", "SyncerOptions"]

logger = logging.getLogger(__name__)

LEASE_NAMESPACE = "workbench-system"
LEASE_NAME = "workbench-syncer"


class Syncer:
    def __init__(self, settings: Settings, options: SyncerOptions | None = None) -> None:
        self.settings = settings
        self.options = options or SyncerOptions(resync_seconds=settings.syncer_resync_seconds)
        self.identity = self.options.identity or f"{socket.gethostname()}-{os.getpid()}"
        self._http = BackgroundHttp(self._http_app(), settings.bind_host, settings.syncer_http_port)
        self.http_port = 0
        self.elector: LeaderElector | None = None
        self.reconcilers: Reconcilers | None = None  # while leading
        self._kube: client.ApiClient | None = None
        self._devops: DevopsClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._earlier_writes = 0
        self._revision = 0  # the last tenancy change seen, kept from one term to the next

    @property
    def writes(self) -> int:
        """Writes this syncer's reconcilers made, to the control-plane cluster and to Jenkins,
        in any term."""
        current = self.reconcilers.writes if self.reconcilers is not None else 0
        return self._earlier_writes + current

    @property
    def ready(self) -> bool:
        if self.elector is None or not self.elector.is_leader:
            return True
        return self.reconcilers is not None and self.reconcilers.ready.is_set()

    async def start(self) -> None:
        self.http_port = await self._http.start()
        logger.info("syncer serving HTTP on %s", self.http_port)

        path = self.settings.control_plane_kubeconfig
        if path is None:
            logger.info("no control-plane cluster configured: nothing to reconcile")
            return
        if not self.settings.internal_token:
            raise RuntimeError("WORKBENCH_INTERNAL_TOKEN must be set to reach devops-server")

        self._devops = DevopsClient(self.settings.devops_address, self.settings.internal_token)
        self._task = asyncio.create_task(self._campaign(path), name="syncer-campaign")

    async def wait(self) -> None:
        await self._http.wait()

    async def stop(self, *, release: bool = True) -> None:
        """Stop reconciling and serving. `release=False` leaves the lease to expire, as a
        crashed process would."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._kube is not None:
            if self.elector is not None and release:
                try:
                    await self.elector.release()
                except Exception as error:  # the cluster is gone: the lease expires instead
                    logger.warning("lease %s not released: %s", LEASE_NAME, error)
            await self._kube.close()
            self._kube = None
        if self._devops is not None:
            await self._devops.close()
            self._devops = None
        await self._http.stop()

    async def _campaign(self, kubeconfig: Path) -> None:
        self._kube = await self._control_plane_client(kubeconfig)
        self.elector = LeaderElector(
            self._kube,
            LEASE_NAMESPACE,
            LEASE_NAME,
            self.identity,
            lease_seconds=self.options.lease_seconds,
            renew_seconds=self.options.renew_seconds,
            retry_seconds=self.options.retry_seconds,
        )
        await self._ensure_lease_namespace(self._kube)
        logger.info("syncer %s campaigning for lease %s", self.identity, LEASE_NAME)
        await self.elector.run(on_started_leading=self._lead)

    async def _control_plane_client(self, kubeconfig: Path) -> client.ApiClient:
        """A client from the kubeconfig file, waiting for the file to appear and be usable
        (a mounted Secret, or the sandbox stand-in that writes it once it listens)."""
        while True:
            try:
                made: client.ApiClient = await kube_config.new_client_from_config(
                    config_file=str(kubeconfig), persist_config=False
                )
                skip_environment_lookups(made)
                return made
            except (ConfigException, OSError, ValueError, TypeError, yaml.YAMLError) as error:
                # The error's text may quote the file, which holds credentials: type only.
                logger.warning(
                    "control-plane kubeconfig %s is not usable yet (%s); retrying",
                    kubeconfig,
                    type(error).__name__,
                )
            await asyncio.sleep(self.options.retry_seconds)

    async def _ensure_lease_namespace(self, api_client: client.ApiClient) -> None:
        core = client.CoreV1Api(api_client)
        body = {"metadata": {"name": LEASE_NAMESPACE}}
        while True:
            try:
                await core.create_namespace(cast(Any, body))
                logger.info("created namespace %s for the leader lease", LEASE_NAMESPACE)
                return
            except ApiException as error:
                if error.status == 409:
                    return
                logger.warning("namespace %s: create failed (%s)", LEASE_NAMESPACE, error.status)
            except Exception as error:
                logger.warning("control-plane cluster not reachable (%s)", error)
            await asyncio.sleep(self.options.retry_seconds)

    async def _lead(self) -> None:
        """The leader's work: the reconcilers, started again should they ever fail."""
        while True:
            try:
                await self._run_reconcilers()
            except Exception:
                logger.exception("syncer %s: reconcilers failed; starting again", self.identity)
            await asyncio.sleep(self.options.retry_seconds)

    async def _run_reconcilers(self) -> None:
        assert self._kube is not None and self._devops is not None
        logger.info("syncer %s leads: starting reconcilers", self.identity)
        self.reconcilers = Reconcilers(
            self._kube,
            self._devops,
            argocd_namespace=self.settings.argocd_namespace,
            argocd_group_pattern=self.settings.argocd_group_pattern,
            credentials_namespace=self.settings.credentials_namespace,
            options=self.options,
            revision=self._revision,
        )
        try:
            await self.reconcilers.run()
        finally:
            logger.info("syncer %s: reconcilers stopped", self.identity)
            self._earlier_writes += self.reconcilers.writes
            self._revision = self.reconcilers.revision
            self.reconcilers = None

    def _http_app(self) -> FastAPI:
        app = FastAPI(title="syncer", docs_url=None, redoc_url=None, openapi_url=None)

        @app.get("/healthz")
        async def healthz() -> dict[str, str]:
            """Liveness: the process answers."""
            return {"status": "ok"}

        @app.get("/readyz")
        async def readyz(response: Response) -> dict[str, str]:
            """Readiness: leading and converged once, or standing by."""
            if self.ready:
                return {"status": "ready"}
            response.status_code = 503
            return {"status": "syncing"}

        @app.get("/metrics")
        async def metrics() -> Response:
            """Prometheus metrics of this process."""
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        return app
