"""One kubernetes-asyncio client per member cluster, made on first use and kept.

The kubeconfig of a cluster comes from a loader (apiserver and syncer ask devops-server for
it); the registry builds an independent `ApiClient` from it, so clusters never share
configuration. `forget` closes a cluster's client when the cluster is removed or its
credentials change; a client being built meanwhile, perhaps from the old kubeconfig, is
closed too and built again.

Kubernetes failures become domain errors here, in one table (`translate`), with the cause
chained: 404 NotFound, 409 AlreadyExists or Conflict, 422 InvalidArgument, 401/403
Unavailable (our credentials for the cluster are wrong: the caller cannot fix that), anything
else or no answer Unavailable.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import yaml
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio import config as k8s_config
from kubernetes_asyncio.client.exceptions import ApiException

from libs.common.errors import (
    AlreadyExists,
    Conflict,
    InvalidArgument,
    NotFound,
    Unavailable,
    WorkbenchError,
)

logger = logging.getLogger(__name__)

KubeconfigLoader = Callable[[str], Awaitable[str]]
REACHABILITY_TTL = 5.0


def translate(cluster: str, error: Exception) -> WorkbenchError:
    """The domain error for a failed call to `cluster`."""
    if isinstance(error, ApiException):
        message = _status_message(error)
        if error.status == 404:
            return NotFound(message)
        if error.status == 409:
            if "AlreadyExists" in (error.body or ""):
                return AlreadyExists(message)
            return Conflict(message)
        if error.status == 422:
            return InvalidArgument(message)
        if error.status in (401, 403):
            return Unavailable(f"cluster {cluster!r} refused Workbench's credentials")
        return Unavailable(f"cluster {cluster!r} answered {error.status}: {message}")
    return Unavailable(f"cluster {cluster!r} is not reachable")


def _status_message(error: ApiException) -> str:
    try:
        body = json.loads(error.body or "{}")
    except ValueError:
        body = {}
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or error.reason or "request failed")


class ClusterClients:
    def __init__(self, loader: KubeconfigLoader) -> None:
        self._loader = loader
        self._clients: dict[str, k8s.ApiClient] = {}
        self._reachable: dict[str, tuple[float, bool]] = {}
        self._forgotten: dict[str, int] = {}  # how often each cluster was forgotten
        self._lock = asyncio.Lock()

    async def api(self, cluster: str) -> k8s.ApiClient:
        """The client of `cluster`, built from its kubeconfig on first use."""
        existing = self._clients.get(cluster)
        if existing is not None:
            return existing

        async with self._lock:
            while (existing := self._clients.get(cluster)) is None:
                forgotten = self._forgotten.get(cluster, 0)
                kubeconfig = yaml.safe_load(await self._loader(cluster))
                made: k8s.ApiClient = await k8s_config.new_client_from_config_dict(kubeconfig)
                if self._forgotten.get(cluster, 0) == forgotten:
                    self._clients[cluster] = made
                else:  # forgotten while it was read: the kubeconfig may be the old one
                    await made.close()
            return existing

    async def core(self, cluster: str) -> k8s.CoreV1Api:
        return k8s.CoreV1Api(await self.api(cluster))

    async def reachable(self, cluster: str, *, probe_seconds: float = 2.0) -> bool:
        """Whether `cluster` answers its version endpoint now; remembered for a few seconds."""
        now = time.monotonic()
        known = self._reachable.get(cluster)
        if known is not None and now - known[0] < REACHABILITY_TTL:
            return known[1]

        try:
            version = k8s.VersionApi(await self.api(cluster))
            await version.get_code(_request_timeout=probe_seconds)
            answer = True
        except Exception:  # any failure at all means "not running" to the caller
            logger.info("cluster %s did not answer its version endpoint", cluster)
            answer = False
        self._reachable[cluster] = (now, answer)
        return answer

    async def call(self, cluster: str, operation: Callable[[], Awaitable[Any]]) -> Any:
        """Run one call against `cluster`, translating its failure."""
        try:
            return await operation()
        except (ApiException, aiohttp.ClientError, TimeoutError, OSError) as error:
            if not isinstance(error, ApiException):
                await self.forget(cluster)
            raise translate(cluster, error) from error

    async def forget(self, cluster: str) -> None:
        self._forgotten[cluster] = self._forgotten.get(cluster, 0) + 1
        self._reachable.pop(cluster, None)
        found = self._clients.pop(cluster, None)
        if found is not None:
            await found.close()

    async def close(self) -> None:
        for name in list(self._clients):
            await self.forget(name)
