"""A local stand-in for the Kubernetes API server, one instance per cluster.

Tests and `make run` use it where no kube-apiserver can run. It speaks the real HTTP API
(discovery, CRUD, the four patch types, watch), so kubernetes-asyncio and the official
`kubernetes` client talk to it unmodified. It is never a production code path. See
`README.md` beside this file for what is emulated, the test hooks, and what is not.
"""

from sandbox.kube._errors import StatusError
from sandbox.kube._registry import ResourceType
from sandbox.kube._standin import KubeStandIn
from sandbox.kube._thread import ThreadedKubeStandIn

__all__ = ["KubeStandIn", "ResourceType", "StatusError", "ThreadedKubeStandIn"]
