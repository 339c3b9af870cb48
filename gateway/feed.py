"""A job's events for one reader: every event exactly once, in seq order, until the last.

The reader subscribes first, then replays the job's stream after the seq it last saw, then
follows the live channel, dropping seqs it already has. A gap in the live seqs, a reconnect of
the hub, or a quiet spell makes it re-read the stream, so pub/sub's losses never reach a client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from enum import Enum
from typing import Protocol

from gateway.hub import EventHub, EventQueue
from shared.billing import JobEnder
from shared.errors import DeadlineExceeded, EventsExpired, JobNotFound
from shared.events import ErrorEvent, Event
from shared.job_records import JobFields
from shared.jobs import JobStatus
from shared.jobstore import JobStore

# A job whose worker vanished is ended by its readers this long after its deadline.
DEADLINE_GRACE_S = 5.0


class EventFeed(Protocol):
    """What a front end reads a completion's events from."""

    job_id: str

    def batches(self) -> AsyncIterator[list[Event]]: ...

    async def close(self) -> None: ...


class StreamState(Enum):
    """What the job's stream holds after a read of it came back empty."""

    ENDED = "ended"  # the reader holds the job's last event
    MORE = "more"  # events arrived meanwhile: read again
    RUNNING = "running"  # nothing new yet


class CachedFeed:
    """A finished answer's events, from the response cache: one batch, nothing to close."""

    def __init__(self, job_id: str, events: list[Event]) -> None:
        self.job_id = job_id
        self._events = events

    async def batches(self) -> AsyncIterator[list[Event]]:
        yield self._events

    async def close(self) -> None:
        pass


class JobFeed:
    """Open it (subscribe) before the job can produce events; iterate ``batches()``."""

    def __init__(
        self,
        *,
        store: JobStore,
        hub: EventHub,
        job_id: str,
        deadline_at: float,
        idle_s: float,
        after_seq: int = 0,
        ender: JobEnder | None = None,
        notified: bool = False,
    ) -> None:
        self.store = store
        self.ender = ender
        self.hub = hub
        self.job_id = job_id
        self.deadline_at = deadline_at
        self.idle_s = idle_s
        self.last_seq = after_seq
        self._stack = AsyncExitStack()
        self._queue: EventQueue | None = None
        self._stored_before = True  # events may be stored that the subscription never sees
        self._notified = notified  # the job will name the hub's channel (see EventHub)

    async def open(self) -> None:
        subscription = self.hub.subscribe(self.job_id, notified=self._notified)
        self._queue = await self._stack.enter_async_context(subscription)

    def caught_up(self) -> None:
        """Nothing of the job was stored before the subscription held (it was created after):
        the first read waits for the live channel instead of reading the stream."""
        self._stored_before = False

    async def close(self) -> None:
        await self._stack.aclose()

    async def batches(self) -> AsyncIterator[list[Event]]:
        """Batches of new events; an empty batch after each quiet spell (time for a keep-alive).
        Ends after the job's last event."""
        assert self._queue is not None, "open() the feed first"
        queue = self._queue
        resync = self._stored_before  # whatever was stored before the subscription held
        while True:
            if resync:
                candidates = await self.store.events_after(self.job_id, self.last_seq)
                resync = False
            else:
                try:
                    async with asyncio.timeout(self.idle_s):
                        first = await queue.get()
                except TimeoutError:
                    await self._check_quiet_job()
                    resync = True
                    yield []
                    continue
                items = [first, *_drain(queue)]
                if None in items:  # the hub reconnected: the stream has what was missed
                    resync = True
                    continue
                candidates = [item for item in items if item is not None]
            if not candidates:
                state = await self._state_after_empty_read()
                if state is StreamState.ENDED:
                    last = await self.store.last_event(self.job_id)
                    if last is not None and last.terminal and last.seq < self.last_seq:
                        # The reader resumed past the end (or Redis restarted from its
                        # append-only file with less than the reader saw): it is still told
                        # how the job ended.
                        yield [last]
                    return
                resync = state is StreamState.MORE
                continue
            batch, gap = self._new_in_order(candidates)
            resync = resync or gap
            if batch:
                yield batch
                if batch[-1].terminal:
                    return

    def _new_in_order(self, events: list[Event]) -> tuple[list[Event], bool]:
        batch: list[Event] = []
        for event in events:
            if event.seq <= self.last_seq:
                continue
            if event.seq != self.last_seq + 1:
                return batch, True
            batch.append(event)
            self.last_seq = event.seq
        return batch, False

    async def _state_after_empty_read(self) -> StreamState:
        progress = await self.store.progress(self.job_id)
        if progress is None:
            raise JobNotFound(f"job {self.job_id} has expired")
        status, seq = progress
        if seq > self.last_seq:
            if await self.store.events_after(self.job_id, self.last_seq):
                return StreamState.MORE
            raise EventsExpired(f"the events of job {self.job_id} are no longer kept")
        return StreamState.ENDED if status.finished else StreamState.RUNNING

    async def _check_quiet_job(self) -> None:
        """On a quiet spell: a job gone is an error, and one past its deadline is ended."""
        progress = await self.store.progress(self.job_id)
        if progress is None:
            raise JobNotFound(f"job {self.job_id} has expired")
        if progress[0].finished or time.time() < self.deadline_at + DEADLINE_GRACE_S:
            return
        expired = DeadlineExceeded("no worker finished the job before its deadline")
        if self.ender is not None:  # what its events show was generated is charged with it
            await self.ender.fail(self.job_id, expired)
            return
        await self.store.append(
            self.job_id,
            ErrorEvent.of(expired),
            ends_as=JobStatus.FAILED,
            fields=JobFields(finished_at=time.time()),
        )


def _drain(queue: EventQueue) -> list[Event | None]:
    items: list[Event | None] = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items
