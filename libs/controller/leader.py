"""Leader election through a coordination.k8s.io/v1 Lease, as client-go does it.

Only one syncer may reconcile at a time, or two would fight over the same objects. The
candidates agree through one Lease object in the control-plane cluster:

- `spec.holderIdentity` names the leader; `spec.renewTime` is when it last proved it was
  alive; `spec.leaseDurationSeconds` is how long that proof lasts. A lease is free when it
  has no holder, or when `renewTime + leaseDurationSeconds` has passed.
- Every `retry_seconds` a follower reads the lease and, if it is free, writes itself in as
  holder (`acquireTime` and `renewTime` now, `leaseTransitions` + 1). The leader rewrites
  `renewTime` every `renew_seconds`.
- Every write is a PUT carrying the `resourceVersion` that was read, so of two candidates
  racing for a free lease exactly one wins; the other gets 409 Conflict and stays (or
  becomes) a follower until its next read. A 409 is an ordinary outcome here, never an
  error: the elector simply reads again.
- A leader that cannot renew for `renew_deadline` seconds (less than the lease duration)
  steps down on its own, so it stops reconciling before anyone else may start.
- `release()`, on a clean stop, clears the holder so a standby takes over at its next
  retry instead of waiting out the lease. A leader that dies without releasing is replaced
  once its lease expires.

Expiry is judged from `renewTime` as written by the holder, so the candidates' clocks must
roughly agree (they run in one cluster); client-go instead times the lease locally from the
moment it observed a change, which tolerates skew.
# TODO: time expiry locally, as client-go does, if syncers ever run on unsynchronised hosts.

Timestamps are written as MicroTime strings (`2026-01-02T03:04:05.000006Z`) in a plain dict
body: kubernetes-asyncio would serialise a `datetime` with `isoformat()`, which gives
`+00:00` rather than `Z`. Reads go through the typed `V1Lease`, whose `renew_time` comes
back as an aware `datetime`.

The metric `workbench_controller_leader{identity}` is 1 while this process leads, else 0.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException
from prometheus_client import Gauge

__all__ = ["LeaderElector"]

logger = logging.getLogger(__name__)

LEADER = Gauge(
    "workbench_controller_leader",
    "1 while this process holds the leader lease, else 0.",
    ["identity"],
)

Callback = Callable[[], Coroutine[Any, Any, None]]


def _micro_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Campaigns for one Lease; `is_leader` tells whether this process holds it."""

    def __init__(
        self,
        api_client: client.ApiClient,
        namespace: str,
        name: str,
        identity: str,
        *,
        lease_seconds: float = 15,
        renew_seconds: float = 5,
        retry_seconds: float = 2,
        renew_deadline: float | None = None,
    ) -> None:
        if not renew_seconds < lease_seconds:
            raise ValueError("renew_seconds must be shorter than lease_seconds")
        self._api = client.CoordinationV1Api(api_client)
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self._lease_seconds = lease_seconds
        self._renew_seconds = renew_seconds
        self._retry_seconds = retry_seconds
        self._renew_deadline = (
            renew_deadline if renew_deadline is not None else lease_seconds * 2 / 3
        )
        self._leading = asyncio.Event()
        self._last_renew = 0.0  # time.monotonic() of the last successful write as holder
        LEADER.labels(identity).set(0)

    @property
    def is_leader(self) -> bool:
        return self._leading.is_set()

    async def wait_leading(self) -> None:
        """Return once this process leads."""
        await self._leading.wait()

    async def run(
        self,
        on_started_leading: Callback | None = None,
        on_stopped_leading: Callback | None = None,
    ) -> None:
        """Campaign until cancelled. While leading, `on_started_leading()` runs as a task that
        is cancelled when leadership is lost; `on_stopped_leading()` is awaited after it.
        Cancelling `run` does not release the lease: cancel it, then call `release()`, for a
        clean stop."""
        work: asyncio.Task[None] | None = None
        active = False
        try:
            while True:
                renewed_before = self._last_renew
                await self.try_acquire_or_renew()
                renewed = self._last_renew != renewed_before

                if self.is_leader and not active:
                    active = True
                    if on_started_leading is not None:
                        work = asyncio.create_task(on_started_leading(), name="leader-work")
                elif active and not self.is_leader:
                    active = False
                    await self._stop_work(work, on_stopped_leading)
                    work = None

                # After a failed renewal (a 409 included) read again soon, not a period later.
                pause = self._renew_seconds if self.is_leader and renewed else self._retry_seconds
                await asyncio.sleep(pause)
        finally:
            self._set_leading(False)
            if active:
                await self._stop_work(work, on_stopped_leading)

    async def try_acquire_or_renew(self) -> bool:
        """One round: read the lease, then create, renew or take it over if allowed.
        Returns whether this process leads afterwards."""
        try:
            lease = await self._api.read_namespaced_lease(self.name, self.namespace)
        except ApiException as error:
            if error.status != 404:
                return self._failed("read", error)
            return await self._write(None)

        spec = lease.spec
        holder = spec.holder_identity if spec is not None else None
        if holder == self.identity or self._free(spec):
            return await self._write(lease)

        if self.is_leader:
            logger.warning("lease %s/%s: now held by %s", self.namespace, self.name, holder)
            self._set_leading(False)
        return False

    async def release(self) -> None:
        """Give the lease up if it names this process, so a standby takes over at once. Call
        it after `run` has been cancelled, or the next round takes the lease again."""
        self._set_leading(False)
        try:
            lease = await self._api.read_namespaced_lease(self.name, self.namespace)
            if lease.spec is None or lease.spec.holder_identity != self.identity:
                return
            body = self._body(lease.metadata.resource_version, lease.spec, holder=None)
            await self._api.replace_namespaced_lease(self.name, self.namespace, body)
            logger.info("lease %s/%s: released by %s", self.namespace, self.name, self.identity)
        except ApiException as error:
            # The lease then expires on its own; the standby just waits longer.
            logger.warning(
                "lease %s/%s: release failed (%s): %s",
                self.namespace,
                self.name,
                error.status,
                error.reason,
            )

    def _free(self, spec: client.V1LeaseSpec | None) -> bool:
        if spec is None or not spec.holder_identity:
            return True
        if spec.renew_time is None or spec.lease_duration_seconds is None:
            return True
        renewed: datetime = spec.renew_time
        if renewed.tzinfo is None:
            renewed = renewed.replace(tzinfo=UTC)
        expires = renewed + timedelta(seconds=spec.lease_duration_seconds)
        return datetime.now(UTC) >= expires

    async def _write(self, lease: client.V1Lease | None) -> bool:
        try:
            if lease is None:
                body = self._body(None, None, holder=self.identity)
                await self._api.create_namespaced_lease(self.namespace, body)
            else:
                body = self._body(lease.metadata.resource_version, lease.spec, self.identity)
                await self._api.replace_namespaced_lease(self.name, self.namespace, body)
        except ApiException as error:
            if error.status == 409:
                # Someone else wrote first: follow until the next read shows who.
                logger.info(
                    "lease %s/%s: lost a write race (%s)", self.namespace, self.name, error.reason
                )
                if self.is_leader:
                    return self._failed("renew", error)
                return False
            return self._failed("write", error)

        self._last_renew = time.monotonic()
        if not self.is_leader:
            logger.info("lease %s/%s: %s is now leading", self.namespace, self.name, self.identity)
            self._set_leading(True)
        return True

    def _body(
        self, resource_version: str | None, old: client.V1LeaseSpec | None, holder: str | None
    ) -> Any:
        """A Lease as a plain dict (typed as Any for the client's `V1Lease` parameters)."""
        now = _micro_time(datetime.now(UTC))
        old_holder = old.holder_identity if old is not None else None
        transitions = (old.lease_transitions or 0) if old is not None else 0
        acquired = old.acquire_time if old is not None else None
        spec: dict[str, Any] = {
            "holderIdentity": holder,
            "leaseDurationSeconds": max(1, round(self._lease_seconds)),
            "renewTime": now,
            "leaseTransitions": transitions,
            "acquireTime": _micro_time(acquired) if acquired is not None else None,
        }
        if holder is not None and holder != old_holder:
            spec["acquireTime"] = now
            if old is not None:
                spec["leaseTransitions"] = transitions + 1
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if resource_version is not None:
            metadata["resourceVersion"] = resource_version
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {key: value for key, value in spec.items() if value is not None},
        }

    def _failed(self, step: str, error: ApiException) -> bool:
        """A round that neither won nor lost: keep leading until the renew deadline."""
        logger.warning(
            "lease %s/%s: %s failed (%s): %s",
            self.namespace,
            self.name,
            step,
            error.status,
            error.reason,
        )
        if self.is_leader and time.monotonic() - self._last_renew >= self._renew_deadline:
            logger.warning(
                "lease %s/%s: %s could not renew in time, stepping down",
                self.namespace,
                self.name,
                self.identity,
            )
            self._set_leading(False)
        return self.is_leader

    def _set_leading(self, leading: bool) -> None:
        if leading:
            self._leading.set()
        else:
            self._leading.clear()
        LEADER.labels(self.identity).set(1 if leading else 0)

    async def _stop_work(
        self, work: asyncio.Task[None] | None, on_stopped_leading: Callback | None
    ) -> None:
        if work is not None:
            work.cancel()
            await asyncio.wait([work])
            if not work.cancelled() and work.exception() is not None:
                logger.error(
                    "lease %s/%s: leader work failed",
                    self.namespace,
                    self.name,
                    exc_info=work.exception(),
                )
        if on_stopped_leading is not None:
            await on_stopped_leading()
