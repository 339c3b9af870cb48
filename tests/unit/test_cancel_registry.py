"""Cooperative cancellation: a task whose cancellation was swallowed is cancelled again; one
that caught it is left to end its job."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from workers import cancel
from workers.cancel import CancelRegistry


async def test_a_swallowed_cancellation_is_sent_again_and_a_caught_one_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cancel, "RECANCEL_AFTER_S", 0.0)
    registry = CancelRegistry()
    caught = asyncio.Event()
    swallowed = 0

    async def job() -> None:
        nonlocal swallowed
        with registry.track("j"):
            with contextlib.suppress(asyncio.CancelledError):  # a library that swallows it
                await asyncio.sleep(10)
            swallowed += 1
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                registry.acknowledge("j")
                caught.set()
                await asyncio.sleep(0.05)  # ending the job: must not be cancelled again

    task = asyncio.create_task(job())
    await asyncio.sleep(0)
    assert registry.cancel("j")
    await asyncio.sleep(0)
    assert swallowed == 1
    assert registry.cancel("j")  # the maintenance tick asks again: the task is still running
    await caught.wait()
    assert not registry.cancel("j")  # caught: left alone while it ends the job
    await task
    assert registry.running() == []


async def test_a_second_request_soon_after_the_first_does_not_cancel_twice() -> None:
    registry = CancelRegistry()

    async def job() -> None:
        with registry.track("j"), contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(10)

    task = asyncio.create_task(job())
    await asyncio.sleep(0)
    assert registry.cancel("j")
    assert not registry.cancel("j")  # the pub/sub message and the tick, at once
    await task
