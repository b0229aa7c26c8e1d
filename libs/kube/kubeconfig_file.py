"""A kubernetes-asyncio client for one cluster named by a kubeconfig file.

Member clusters are reached through `clusters.ClusterClients`, whose kubeconfigs come from
devops-server. The control-plane cluster is different: an operator points a process at it
with a kubeconfig file (`WORKBENCH_CONTROL_PLANE_KUBECONFIG`). `client_from_file` builds a
client from that file for the length of an `async with` block and closes it afterwards, so
a caller that uses the control plane only now and then holds no connection pool between
calls, and picks up a rotated file on its next call without a restart.

Failures keep the one error table of `clusters.translate`: a file that cannot be read or is
not a usable kubeconfig is Unavailable (the operator must fix it, the caller cannot), and
the message never quotes the file, which holds the cluster's credentials.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import aiohttp
import yaml
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio import config as k8s_config
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config.config_exception import ConfigException

from libs.common.errors import Unavailable
from libs.kube.clusters import translate

logger = logging.getLogger(__name__)

Answer = TypeVar("Answer")


@asynccontextmanager
async def client_from_file(path: Path, *, cluster: str) -> AsyncIterator[k8s.ApiClient]:
    """A client for the cluster `path` describes, closed when the block ends."""
    try:
        api: k8s.ApiClient = await k8s_config.new_client_from_config(
            config_file=str(path), persist_config=False
        )
    except (ConfigException, OSError, yaml.YAMLError, ValueError, TypeError) as error:
        # The exception's text may quote the file; only its type goes to the log.
        logger.warning("kubeconfig %s of cluster %s is unusable: %s", path, cluster, type(error))
        raise Unavailable(f"the kubeconfig of cluster {cluster!r} cannot be loaded") from None

    try:
        yield api
    finally:
        await api.close()


async def call(cluster: str, operation: Callable[[], Awaitable[Answer]]) -> Answer:
    """Run one call against `cluster`, its failure translated into a domain error."""
    try:
        return await operation()
    except (ApiException, aiohttp.ClientError, TimeoutError, OSError) as error:
        raise translate(cluster, error) from error
