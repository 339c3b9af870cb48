"""The time budgets of one provider call: first token, idle between reads, and total."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import TypeVar

from shared.config import ProviderTimeouts
from shared.errors import ProviderTimeout

T = TypeVar("T")


@dataclass(slots=True)
class _Wait:
    """One timed await in progress."""

    task: asyncio.Task[object]
    deadline: float
    cancelling: int  # the task's cancellation requests before this wait
    expired: bool = False


class ReadBudget:
    """Times each await of a call against the budget that applies to it now.

    Each await is timed on its own (never a scope around a ``yield``), so a budget running out
    surfaces as ProviderTimeout here and not as a stray cancellation in the job's code. One timer
    serves every await of the call and moves only when it fires: a stream makes a read per
    token, and ``asyncio.timeout`` around each cost a timer made and cancelled every time
    (about 6 µs a read). Used as a context manager: leaving it drops the timer.
    """

    def __init__(self, timeouts: ProviderTimeouts, *, whole: bool = False) -> None:
        """``whole``: the answer comes in one response, so only the total budget applies (it
        has no first token to wait for, and nothing to be idle between)."""
        self._timeouts = timeouts
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._total_at = loop.time() + timeouts.total_s
        self._first_token_at = self._total_at if whole else loop.time() + timeouts.first_token_s
        self._seen_token = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._waiting: _Wait | None = None

    def got_token(self) -> None:
        self._seen_token = True

    def _deadline(self) -> tuple[float, str]:
        if self._seen_token:
            phase_at, phase = self._loop.time() + self._timeouts.idle_s, "idle"
        else:
            phase_at, phase = self._first_token_at, "first token"
        if self._total_at <= phase_at:
            return self._total_at, "total"
        return phase_at, phase

    async def run(self, awaitable: Awaitable[T], provider: str = "") -> T:
        deadline, phase = self._deadline()
        task = asyncio.current_task()
        assert task is not None
        wait = _Wait(task, deadline, task.cancelling())
        self._waiting = wait
        if deadline < self._timer_at:
            self._arm(deadline)
        try:
            result = await awaitable
        except asyncio.CancelledError as exc:
            if wait.expired and task.uncancel() <= wait.cancelling:
                raise ProviderTimeout(
                    f"{provider or 'provider'}: {phase} time budget ran out", provider=provider
                ) from exc
            raise  # cancelled from outside (the job's end): not a timeout
        finally:
            self._waiting = None
        if wait.expired:
            task.uncancel()  # the awaitable swallowed the cancellation: the result stands
        return result

    async def next_read(self, reads: AsyncIterator[bytes], provider: str) -> bytes | None:
        """The next network read, or None at the end of the body."""
        try:
            return await self.run(anext(reads), provider)
        except StopAsyncIteration:
            return None

    def __enter__(self) -> ReadBudget:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """The call has ended: nothing more to time."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, math.inf

    def _arm(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = self._loop.call_at(at, self._on_timer), at

    def _on_timer(self) -> None:
        fired_for = self._timer_at
        self._timer, self._timer_at = None, math.inf
        wait = self._waiting
        if wait is None:
            return  # between awaits: the next one arms the timer again
        if wait.deadline <= fired_for:
            wait.expired = True
            wait.task.cancel()
        else:  # reads came meanwhile and moved the deadline on
            self._arm(wait.deadline)
