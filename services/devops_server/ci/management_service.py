"""The JenkinsManagement service of devops-server's internal SDK: acts on every instance.

`Reload` asks each registered Jenkins to reload its Configuration as Code from the sources it
was started with (the ConfigMap mounted into its pod, in a deployment). Every instance is
tried even when one fails, and the answer names each instance that did not reload and why,
so an operator knows which one to look at.
"""

from __future__ import annotations

import logging
from typing import Any

from google.protobuf import empty_pb2
from workbench_sdk.devops.v1 import pipelines_pb2 as pb
from workbench_sdk.devops.v1 import pipelines_pb2_grpc

from libs.common.errors import FailedPrecondition, WorkbenchError
from services.devops_server.ci.instances import InstanceStore, JenkinsPool

logger = logging.getLogger(__name__)


class JenkinsManagementService(pipelines_pb2_grpc.JenkinsManagementServicer):
    def __init__(self, instances: InstanceStore, pool: JenkinsPool) -> None:
        self._instances = instances
        self._pool = pool

    async def Reload(self, request: empty_pb2.Empty, context: Any) -> Any:
        registered = await self._instances.list()
        if not registered:
            raise FailedPrecondition("no Jenkins instance is registered; register one first")
        failed: list[str] = []

        for instance in registered:
            try:
                jenkins = await self._pool.client(instance.name)
                await jenkins.casc_reload()
            except WorkbenchError as error:
                logger.warning("CasC reload failed: instance=%s reason=%s", instance.name, error)
                failed.append(f"{instance.name!r} ({error.message})")

        return pb.ReloadResult(failures=failed)
