"""The execution context of one pipeline "thread", and the two ways a step can end badly.

Real Jenkins runs a pipeline as CPS threads: the main body, plus one per parallel branch. The
stand-in mirrors that with a `Context` per thread. It carries the environment, the values to
mask in the log, the enclosing stage (the parent of the steps it runs), the step whose log is
being written, and its own interrupt event.

Stopping a run sets the interrupt event of every live context; whatever a context is waiting
on (a `sleep`, an `sh` command, an `input`) then raises `Interrupted`, the counterpart of
Jenkins's FlowInterruptedException. The stage that catches it records ABORTED and clears its
context's event, so that its `post` section and the pipeline's still run, as they do in Jenkins.
A parallel `failFast` interrupts the sibling branches the same way, but names the failed branch
as the cause (Jenkins's FailFastCause): those branches end ABORTED while the build keeps the
result of the original failure.
A failing step raises `StepFailed` (hudson.AbortException and friends) instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sandbox.jenkins._clock import Clock
from sandbox.jenkins._model import FlowNode, Run
from sandbox.jenkins._values import Scope

T = TypeVar("T")

FLOW_INTERRUPTED = "org.jenkinsci.plugins.workflow.steps.FlowInterruptedException"
ABORT_EXCEPTION = "hudson.AbortException"


class Interrupted(Exception):
    """The run (or this branch) was stopped, timed out, or an input was aborted."""

    def __init__(self, reason: str, result: str = "ABORTED", *, fail_fast: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.result = result
        self.fail_fast = fail_fast


class StepFailed(Exception):
    """A step failed; `type` is the Java exception class Jenkins would show."""

    def __init__(self, message: str, type: str = ABORT_EXCEPTION) -> None:
        super().__init__(message)
        self.message = message
        self.type = type


@dataclass
class Context:
    """One pipeline thread: where its steps log, what they see, how they get interrupted."""

    run: Run
    clock: Clock
    env: dict[str, str]
    params: dict[str, Any]
    masks: list[str] = field(default_factory=list)
    stage: FlowNode | None = None
    step: FlowNode | None = None
    directory: str = ""
    interrupt: asyncio.Event = field(default_factory=asyncio.Event)
    stop_reason: list[str] = field(default_factory=lambda: ["Aborted by admin"])
    on_log: Callable[[], None] | None = None
    failed_branch: str | None = None

    def __post_init__(self) -> None:
        self.run.interrupts.append(self.interrupt)

    def branch(self, stage: FlowNode) -> Context:
        """A child context for a parallel branch, sharing the run and stop reason."""
        return Context(
            run=self.run,
            clock=self.clock,
            env=dict(self.env),
            params=self.params,
            masks=list(self.masks),
            stage=stage,
            directory=self.directory,
            stop_reason=self.stop_reason,
            on_log=self.on_log,
        )

    def close(self) -> None:
        if self.interrupt in self.run.interrupts:
            self.run.interrupts.remove(self.interrupt)

    @property
    def scope(self) -> Scope:
        return Scope(self.env, self.params)

    def write(self, text: str, *, to_step: bool = True) -> None:
        """Append to the run's log (and the current step's), masking bound secrets."""
        for secret in sorted(self.masks, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "****")
        data = text.encode("utf-8")
        self.run.log.extend(data)
        if to_step and self.step is not None:
            self.step.log.extend(data)
        if self.on_log is not None:
            self.on_log()

    def line(self, text: str, *, to_step: bool = True) -> None:
        self.write(text + "\n", to_step=to_step)

    def pipeline(self, text: str) -> None:
        """A `[Pipeline] ...` structure line: in the run's log, not in any step's."""
        self.line(f"[Pipeline] {text}", to_step=False)

    def fail_fast(self, failed_branch: str) -> None:
        """Interrupt this branch because its sibling `failed_branch` failed."""
        self.failed_branch = failed_branch
        self.interrupt.set()

    def interruption(self) -> Interrupted:
        """What an interrupted step raises: a fail-fast or a stop of the run."""
        if self.failed_branch is not None:
            return Interrupted(f"Failed in branch {self.failed_branch}", fail_fast=True)
        return Interrupted(self.stop_reason[0])

    def check_interrupt(self) -> None:
        if self.interrupt.is_set():
            raise self.interruption()

    async def interruptible(self, awaitable: Awaitable[T]) -> T:
        """Await `awaitable` unless this context is interrupted first."""
        self.check_interrupt()
        task = asyncio.ensure_future(awaitable)
        waiter = asyncio.ensure_future(self.interrupt.wait())
        try:
            done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            task.cancel()
            raise
        finally:
            waiter.cancel()
        if task in done:
            return task.result()
        task.cancel()
        raise self.interruption()

    async def sleep(self, virtual_seconds: float) -> None:
        await self.interruptible(self.clock.sleep(virtual_seconds))
