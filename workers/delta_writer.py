"""Stores a job's deltas in order without making the provider's stream wait for Redis.

The first text is stored at once. After it, appends start at most once per ``interval_s``, and
whatever arrives meanwhile (or while the previous append is in flight) is merged into the next
one: every append is a Redis script, a pub/sub message and an event each reader renders, so
merging the tokens of a few milliseconds cuts what each token costs, while the first token,
which users wait for, is never held back.

Held (``hold=True``, a job whose one reader waits for the whole answer): nothing is stored
while the answer streams; ``hand_over`` gives all of it to the job's last event, or ``close``
stores it in one append when the job fails.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from shared.events import Delivered, DeltaEvent, ToolCallDelta

# Stores one delta event; with the job's first, the wall time its first text arrived.
AppendDelta = Callable[[DeltaEvent, float | None], Awaitable[None]]


class DeltaWriter:
    """One per running job; ``put`` never blocks, ``close`` flushes, ``hand_over`` leaves the
    rest to the caller, ``abort`` drops it."""

    def __init__(self, append: AppendDelta, interval_s: float = 0.0, *, hold: bool = False) -> None:
        self._append = append
        self._interval_s = interval_s
        self._hold = hold
        self._first_put_at: float | None = None
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._tool_calls: list[ToolCallDelta] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._handing_over = False
        self._aborted = False
        self._stored = asyncio.Event()
        self._pause: asyncio.Future[None] | None = None  # set while waiting out the interval
        self.deltas = 0
        self.content_chars = 0
        self.reasoning_chars = 0
        self.tool_call_chars = 0
        self._task = asyncio.create_task(self._run())

    def put(self, content: str, reasoning: str, tool_calls: Sequence[ToolCallDelta] = ()) -> None:
        """Queue a delta; it goes out with the next append."""
        if self._task.done():
            self._task.result()  # the writer failed (the job ended elsewhere): stop reading
        if content:
            self._content.append(content)
        if reasoning:
            self._reasoning.append(reasoning)
        for fragment in tool_calls:
            _merge_fragment(self._tool_calls, fragment)
        if self._first_put_at is None:
            self._first_put_at = time.time()
        if not self._hold:
            self._stored.clear()
            self._wakeup.set()

    async def put_and_store(
        self, content: str, reasoning: str, tool_calls: Sequence[ToolCallDelta] = ()
    ) -> None:
        """Queue a delta and wait until it is stored. For the first one: a reader with the rest
        of the stream already buffered would otherwise hold the loop and delay it. Held: only
        queued."""
        self.put(content, reasoning, tool_calls)
        if self._hold:
            return
        stored = asyncio.ensure_future(self._stored.wait())
        await asyncio.wait([stored, self._task], return_when=asyncio.FIRST_COMPLETED)
        stored.cancel()
        if self._task.done():
            self._task.result()

    async def close(self) -> None:
        """Store everything put so far; raises what stopped the writer, if anything did."""
        self._closing = True
        self._wakeup.set()
        if self._pause is not None and not self._pause.done():
            self._pause.set_result(None)  # the rest goes now: a JSON answer waits for it
        await self._task

    async def hand_over(self) -> tuple[DeltaEvent | None, float | None]:
        """Stop, leaving what is not stored yet (if anything) for the caller to store with the
        job's last event: one append fewer. With it, when it is the job's first delta, the wall
        time its first text arrived."""
        self._handing_over = True
        await self.close()
        if not self._pending():
            return None, None
        first_at = self._first_at()
        delta = self._take()
        self._count(delta)
        return delta, first_at

    async def abort(self) -> None:
        """Drop what is not stored yet and stop. The flag and the wake-up stop the writer even
        if the cancellation never reaches it: a library that swallows a CancelledError (seen
        under load in a Redis call) would leave it waiting for deltas that never come."""
        self._aborted = True
        self._wakeup.set()
        self._task.cancel()
        await asyncio.wait([self._task])

    def delivered(self) -> Delivered:
        return Delivered(
            deltas=self.deltas,
            content_chars=self.content_chars,
            reasoning_chars=self.reasoning_chars,
            tool_call_chars=self.tool_call_chars,
        )

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_append_at = 0.0
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending() and not (self._aborted or self._handing_over):
                wait_s = next_append_at - loop.time()
                if wait_s > 0 and not self._closing:
                    await self._wait_out(loop, wait_s)  # more tokens join this one meanwhile
                    if self._handing_over:
                        break
                delta = self._take()
                if delta.content or delta.reasoning or _arguments_chars(delta):
                    # A tool call's header alone (id and name) does not start the clock: its
                    # first argument characters go at once too.
                    next_append_at = loop.time() + self._interval_s
                await self._append(delta, self._first_at())
                self._count(delta)
            self._stored.set()
            if self._closing or self._aborted:
                return

    async def _wait_out(self, loop: asyncio.AbstractEventLoop, wait_s: float) -> None:
        """Sleep ``wait_s``, or less if ``close`` comes first."""
        self._pause = pause = loop.create_future()
        timer = loop.call_later(wait_s, _resolve, pause)
        try:
            await pause
        finally:
            timer.cancel()
            self._pause = None

    def _first_at(self) -> float | None:
        """When the first text arrived, while none of it is stored yet."""
        return self._first_put_at if self.deltas == 0 else None

    def _pending(self) -> bool:
        return bool(self._content or self._reasoning or self._tool_calls)

    def _count(self, delta: DeltaEvent) -> None:
        self.deltas += 1
        self.content_chars += len(delta.content)
        self.reasoning_chars += len(delta.reasoning)
        self.tool_call_chars += _arguments_chars(delta)

    def _take(self) -> DeltaEvent:
        delta = DeltaEvent(
            content="".join(self._content),
            reasoning="".join(self._reasoning),
            tool_calls=tuple(self._tool_calls),
        )
        self._content.clear()
        self._reasoning.clear()
        self._tool_calls.clear()
        return delta


def _arguments_chars(delta: DeltaEvent) -> int:
    return sum(len(fragment.arguments) for fragment in delta.tool_calls)


def _resolve(pause: asyncio.Future[None]) -> None:
    if not pause.done():
        pause.set_result(None)


def _merge_fragment(pending: list[ToolCallDelta], fragment: ToolCallDelta) -> None:
    """Append ``fragment``, joined to the one before when it only continues that call."""
    last = pending[-1] if pending else None
    if last is not None and last.index == fragment.index and fragment.id is None:
        pending[-1] = last.model_copy(update={"arguments": last.arguments + fragment.arguments})
    else:
        pending.append(fragment)
