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
  steps down on its own, so it stops reconciling before anyone else may start. That holds
  only if no call can outlast the deadline, so every Lease call has a timeout
  (`request_timeout`, below the deadline) and, while leading, never waits past the
  deadline: a renew hanging on a stalled API server ends at the deadline, as a failure, and
  the leader steps down then. The deadline is also checked before every round, not only
  after a failed one.
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
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aiohttp
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
T = TypeVar("T")

# What a Lease call can fail with besides an API error: the call timing out, the connection.
_TRANSPORT_ERRORS = (TimeoutError, aiohttp.ClientError, OSError)


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
        request_timeout: float | None = None,
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
        if not self._renew_deadline < lease_seconds:
            raise ValueError("renew_deadline must be shorter than lease_seconds")
        self._request_timeout = (
            request_timeout if request_timeout is not None else self._renew_deadline / 2
        )
        if not 0 < self._request_timeout < self._renew_deadline:
            raise ValueError("request_timeout must be positive and shorter than renew_deadline")
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

                # After a failed renewal (a 409 included) read again soon, not a period later;
                # a leader never sleeps past its deadline.
                pause = self._renew_seconds if self.is_leader and renewed else self._retry_seconds
                if self.is_leader:
                    pause = max(0.0, min(pause, self._until_deadline()))
                await asyncio.sleep(pause)
        finally:
            self._set_leading(False)
            if active:
                await self._stop_work(work, on_stopped_leading)

    async def try_acquire_or_renew(self) -> bool:
        """One round: read the lease, then create, renew or take it over if allowed.
        Returns whether this process leads afterwards."""
        if self.is_leader and self._until_deadline() <= 0:
            return self._failed("renew", TimeoutError("the renew deadline passed"))

        try:
            lease = await self._call(self._api.read_namespaced_lease(self.name, self.namespace))
        except ApiException as error:
            if error.status != 404:
                return self._failed("read", error)
            return await self._write(None)
        except _TRANSPORT_ERRORS as error:
            return self._failed("read", error)

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
            lease = await self._call(self._api.read_namespaced_lease(self.name, self.namespace))
            if lease.spec is None or lease.spec.holder_identity != self.identity:
                return
            body = self._body(lease.metadata.resource_version, lease.spec, holder=None)
            await self._call(self._api.replace_namespaced_lease(self.name, self.namespace, body))
            logger.info("lease %s/%s: released by %s", self.namespace, self.name, self.identity)
        except (ApiException, *_TRANSPORT_ERRORS) as error:
            # The lease then expires on its own; the standby just waits longer.
            logger.warning(
                "lease %s/%s: release failed: %s", self.namespace, self.name, _reason(error)
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
                await self._call(self._api.create_namespaced_lease(self.namespace, body))
            else:
                body = self._body(lease.metadata.resource_version, lease.spec, self.identity)
                await self._call(
                    self._api.replace_namespaced_lease(self.name, self.namespace, body)
                )
        except _TRANSPORT_ERRORS as error:
            return self._failed("write", error)
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

    async def _call(self, call: Awaitable[T]) -> T:
        """Await one Lease call, for at most `request_timeout` and, while leading, not past
        the renew deadline (`TimeoutError` then)."""
        timeout = self._request_timeout
        if self.is_leader:
            timeout = min(timeout, self._until_deadline())
        # IMPORTANT: `asyncio.timeout`, not `wait_for`: on Python 3.11 `wait_for` can swallow
        # a cancellation that arrives as the call completes, and the campaign then never stops.
        async with asyncio.timeout(max(timeout, 0.0)):
            return await call

    def _until_deadline(self) -> float:
        """Seconds left before a leader that has not renewed must step down."""
        return self._renew_deadline - (time.monotonic() - self._last_renew)

    def _failed(self, step: str, error: BaseException) -> bool:
        """A round that neither won nor lost: keep leading until the renew deadline."""
        logger.warning(
            "lease %s/%s: %s failed: %s", self.namespace, self.name, step, _reason(error)
        )
        if self.is_leader and self._until_deadline() <= 0:
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


def _reason(error: BaseException) -> str:
    """An error as a log line shows it: an API error by status and reason, a timeout by
    name, anything else by type and text."""
    if isinstance(error, ApiException):
        return f"{error.status} {error.reason}"
    if isinstance(error, TimeoutError):
        return "timed out"
    return f"{type(error).__name__}: {error}"
