"""Stopping background tasks: the task's cancellation is an end, the caller's is not lost."""

from __future__ import annotations

import asyncio

import pytest

from libs.common.background import cancel_and_wait, ended


async def test_cancel_and_wait_ends_the_task() -> None:
    task = asyncio.create_task(asyncio.sleep(60))
    await asyncio.sleep(0)

    await cancel_and_wait(task)

    assert task.cancelled()


async def test_a_deadline_around_the_wait_reaches_the_caller() -> None:
    # The deadline cancels the caller, which cancels the task it waits on; that the task then
    # ends cancelled must not hide from the caller that it was cancelled itself.
    task = asyncio.create_task(asyncio.sleep(60))

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await ended(task)

    assert task.cancelled()


async def test_ended_hands_on_the_error_a_task_ended_with() -> None:
    async def failing() -> None:
        raise ValueError("broken")

    with pytest.raises(ValueError, match="broken"):
        await ended(asyncio.create_task(failing()))
