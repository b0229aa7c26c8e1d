"""One `JenkinsClient` per Jenkins instance, for controllers that talk to many instances.

devops-server owns the instances and hands out their address and API token through
`GetInstanceAccess`. It is asked again each time a client is wanted, so a re-registered
instance (a new token, a new address) is used at once; the client, with its connection pool
and crumb, is kept as long as the access it was made with stays the same.
"""

from __future__ import annotations

from workbench_sdk.devops.v1 import jenkins_pb2

from libs.devops_client import DevopsClient
from libs.jenkins import JenkinsClient

__all__ = ["InstanceClients"]

Access = tuple[str, str, str]  # address, username, token


class InstanceClients:
    """Clients of the registered Jenkins instances, by instance name."""

    def __init__(self, devops: DevopsClient) -> None:
        self._devops = devops
        self._clients: dict[str, tuple[Access, JenkinsClient]] = {}

    async def client(self, instance: str) -> JenkinsClient:
        """A client of `instance` with its current access (`NotFound` if unregistered)."""
        ref = jenkins_pb2.InstanceRef(name=instance)
        found = await self._devops.call(self._devops.jenkins.GetInstanceAccess, ref)
        access = (found.address, found.username, found.token)
        known = self._clients.get(instance)
        if known is not None and known[0] == access:
            return known[1]

        if known is not None:
            await known[1].aclose()
        made = JenkinsClient(*access)
        self._clients[instance] = (access, made)
        return made

    async def close(self) -> None:
        for _, made in self._clients.values():
            await made.aclose()
        self._clients.clear()
