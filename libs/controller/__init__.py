"""Reconciliation machinery the syncer is built on.

- `queue`: `WorkQueue`, keys merged, never processed concurrently, backed off per key.
- `loop`: `Controller`, workers over one queue plus a periodic resync, with metrics.
- `leader`: `LeaderElector`, one active syncer at a time through a coordination.k8s.io/v1
  Lease in the control-plane cluster.

The package imports nothing from `services/` or `sandbox/`; the syncer wires these pieces to
its providers.
"""

from libs.controller.leader import LeaderElector
from libs.controller.loop import Controller
from libs.controller.queue import QueueShutDown, WorkQueue

__all__ = ["Controller", "LeaderElector", "QueueShutDown", "WorkQueue"]
