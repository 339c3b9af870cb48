"""The time budgets of one provider call: first token, idle between reads, and total."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from shared.config import ProviderTimeouts
from shared.errors import ProviderTimeout

T = TypeVar("T")


class ReadBudget:
    """Times each await of a call against the budget that applies to it now.

    Each await is wrapped on its own (never a scope around a ``yield``), so a budget running out
    surfaces as ProviderTimeout here and not as a stray cancellation in the job's code.
    """

    def __init__(self, timeouts: ProviderTimeouts) -> None:
        self._timeouts = timeouts
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._total_at = loop.time() + timeouts.total_s
        self._first_token_at = loop.time() + timeouts.first_token_s
        self._seen_token = False

    def got_token(self) -> None:
        self._seen_token = True

    def _deadline(self) -> tuple[float, str]:
        if self._seen_token:
            phase_at, phase = self._loop.time() + self._timeouts.idle_s, "idle"
        else:
            phase_at, phase = self._first_token_at, "first token"
        if self._total_at < phase_at:
            return self._total_at, "total"
        return phase_at, phase

    async def run(self, awaitable: Awaitable[T], provider: str = "") -> T:
        deadline, phase = self._deadline()
        try:
            async with asyncio.timeout_at(deadline):
                return await awaitable
        except TimeoutError as exc:
            raise ProviderTimeout(
                f"{provider or 'provider'}: {phase} time budget ran out", provider=provider
            ) from exc

    async def next_read(self, reads: AsyncIterator[bytes], provider: str) -> bytes | None:
        """The next network read, or None at the end of the body."""
        try:
            return await self.run(anext(reads), provider)
        except StopAsyncIteration:
            return None
