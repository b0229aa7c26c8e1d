"""Reconciliation machinery the syncer is built on.

- `queue`: `WorkQueue`, keys merged, never processed concurrently, backed off per key.
- `loop`: `Controller`, workers over one queue plus a periodic resync, with metrics.
- `leader`: `LeaderElector`, one active syncer at a time through a coordination.k8s.io/v1
  Lease in the control-plane cluster.
- `watch`: `ListWatch`, list then watch one kind, resuming after stream loss and relisting
  after 410 Gone, reporting ADDED/MODIFIED/DELETED to a handler that enqueues keys.

The package imports nothing from `services/` or `sandbox/`; the syncer wires these pieces to
its providers.
"""

from libs.controller.leader import LeaderElector
from libs.controller.loop import Controller
from libs.controller.queue import QueueShutDown, WorkQueue
from libs.controller.watch import ListWatch

__all__ = ["Controller", "LeaderElector", "ListWatch", "QueueShutDown", "WorkQueue"]
