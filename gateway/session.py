"""The completion session: the one read lifecycle every front end renders.

A session is opened on an admitted request (answered from the cache, joined to the identical job
in flight, or run as a new job) or on a job that already exists. It reads the job's events in
batches, with a keep-alive tick after each quiet spell, until the job's last event, the reader
leaving, or a failed read; then it closes exactly once, shielded from cancellation: the
subscription is dropped, a job its reader started and left early is given up, and a request
that joined another's job has its savings counted.

One rule for a lost Redis: the reader is told (``Interrupted``: retryable, resume with
Last-Event-ID or afterSeq) and the job is not given up, since its events are safe in Redis; a
give-up that itself fails on Redis is logged and dropped, and the job then ends on its own.

Front ends map what it yields (``reads``), its answer (``answer``, read off the done event) or
the finished job (``result``) to their wire format and nothing else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from types import TracebackType
from typing import Any, TypeVar

import anyio
from starlette.requests import HTTPConnection, Request

from gateway.feed import EventFeed
from gateway.metrics import StreamTracker
from gateway.redis_failures import REDIS_FAILURES, lost_redis
from shared.errors import GatewayError, JobNotFound
from shared.events import DeltaEvent, DoneEvent, ErrorEvent, Event
from shared.jobs import Answer, Job
from shared.jobstore import JobStore

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Events:
    """New events of the job, in seq order."""

    events: list[Event]


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """A quiet spell: time for a keep-alive frame."""


@dataclass(frozen=True, slots=True)
class Interrupted:
    """The read failed before the job's last event (Redis lost, the job expired); nothing
    follows."""

    error: GatewayError


Read = Events | KeepAlive | Interrupted
KEEP_ALIVE = KeepAlive()


class Departure(Enum):
    """What a reader leaving before the job's last event does to the job."""

    GIVE_UP = "give_up"  # a stream job's reader: the job is cancelled unless others share it
    STAY = "stay"  # a background job, or an answer from the cache: nothing


# Called once, as the session closes, with the last event read (None if it never came).
OnClose = Callable[[Event | None], Awaitable[None]]
# Makes what completes when the client goes away; made only when there is something to wait for.
ClientGone = Callable[[], Awaitable[object]]


@dataclass(slots=True)
class CompletionSession:
    """One reader of one completion. Use it as an async context manager, or ``close()`` it."""

    feed: EventFeed
    job_id: str
    store: JobStore
    departure: Departure
    model: str  # the routed model's name
    created_at: float  # when the request was admitted (or the job it follows created)
    # Headers of the answer: the cache's and the job id; ``error_headers`` go on errors too.
    headers: dict[str, str] = field(default_factory=dict)
    error_headers: dict[str, str] = field(default_factory=dict)
    cached: Job | None = None  # the whole answer, when the cache gave it
    on_close: OnClose | None = None
    tracker: StreamTracker | None = None  # counts the session among the active streams
    _source: AsyncGenerator[Read, None] | None = None
    _head: list[Read] = field(default_factory=list)
    _last: Event | None = None
    _told_end: bool = False  # the reader got the last event, or was told why none will come
    _closed: bool = False

    @property
    def all_headers(self) -> dict[str, str]:
        return {**self.headers, **self.error_headers}

    async def reads(self) -> AsyncIterator[Read]:
        """Batches of events, keep-alive ticks, and at most one ``Interrupted`` at the end."""
        while self._head:
            yield self._head.pop(0)
        async for read in self._feed():
            yield read

    async def begin(self) -> None:
        """Read ahead until the answer begins (its first delta), the job ends, or a quiet spell.
        Raises the error the job ended with when it ended before any of the answer, so the front
        end can answer with an HTTP error instead of a stream; the session is then closed."""
        async for read in self._feed():  # a break leaves the feed open for reads()
            self._head.append(read)
            if not isinstance(read, Events) or any(
                isinstance(e.body, DeltaEvent) or e.terminal for e in read.events
            ):
                break
        error = self._early_error()
        if error is not None:
            await self.close()
            raise self._with_headers(error)

    async def result(self, client_gone: ClientGone | None = None) -> Job | None:
        """The finished job, or None when the client went away first (what ``client_gone``
        makes completed). Raises the error the job ended with, with the admission's headers."""
        async with self:
            if await self._done(client_gone) is None:
                return None
            return await self._outcome()

    async def answer(self, client_gone: ClientGone | None = None) -> Answer | None:
        """The job's answer, read off its done event (the job is not read again); None and
        raises as ``result`` does."""
        async with self:
            done = await self._done(client_gone)
            if done is None:
                return None
            if self.cached is not None:
                return Answer.of_job(self.cached)
            return Answer.of_done(self.job_id, self.model, self.created_at, done)

    async def _done(self, client_gone: ClientGone | None) -> DoneEvent | None:
        if self.cached is not None or client_gone is None:  # the cache's answer is all here
            last: Event | None = await self._last_event()
        else:
            last = await _unless(self._last_event(), client_gone())
        if last is None:
            return None
        if isinstance(last.body, ErrorEvent):
            raise self._with_headers(last.body.error())
        assert isinstance(last.body, DoneEvent), "a job's last event is done or error"
        return last.body

    async def close(self) -> None:
        """Release the subscription; give the job up if its reader left early; count savings.
        Runs once, whatever cancels the caller meanwhile."""
        if self._closed:
            return
        self._closed = True
        if self.tracker is not None:
            self.tracker.closed()
        with anyio.CancelScope(shield=True):
            try:
                await self.feed.close()
                if not self._told_end and self.departure is Departure.GIVE_UP:
                    await self.store.request_cancel(self.job_id, leaving=True)
                if self.on_close is not None:
                    await self.on_close(self._last)
            except REDIS_FAILURES:
                log.warning("closing the read of job %s lost Redis", self.job_id, exc_info=True)

    async def __aenter__(self) -> CompletionSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def _feed(self) -> AsyncGenerator[Read, None]:
        if self._source is None:
            self._source = self._translated()
        return self._source

    async def _translated(self) -> AsyncGenerator[Read, None]:
        """The feed's batches as reads; a failed read becomes the last one."""
        try:
            async for batch in self.feed.batches():
                if not batch:
                    yield KEEP_ALIVE
                    continue
                if batch[-1].terminal:
                    self._last = batch[-1]
                    self._told_end = True
                yield Events(batch)
        except GatewayError as error:
            self._told_end = True
            yield Interrupted(error)
        except REDIS_FAILURES:
            log.warning("the read of job %s lost Redis", self.job_id, exc_info=True)
            self._told_end = True
            yield Interrupted(lost_redis("the gateway lost Redis; resume with Last-Event-ID"))

    async def _last_event(self) -> Event:
        async for read in self.reads():
            if isinstance(read, Interrupted):
                raise read.error
            if isinstance(read, Events) and read.events[-1].terminal:
                return read.events[-1]
        raise AssertionError("a job's reads end with its last event or an interruption")

    def _early_error(self) -> GatewayError | None:
        """The error the job ended with, when it ended before any of the answer."""
        events = [e for read in self._head if isinstance(read, Events) for e in read.events]
        if any(isinstance(e.body, DeltaEvent) for e in events):
            return None
        last = self._head[-1] if self._head else None
        if isinstance(last, Interrupted):
            return last.error
        if events and isinstance(events[-1].body, ErrorEvent):
            return events[-1].body.error()
        return None

    async def _outcome(self) -> Job:
        if self.cached is not None:
            return self.cached
        job = await self.store.load(self.job_id)
        if job is None:
            raise JobNotFound(f"job {self.job_id} has expired")
        return job

    def _with_headers(self, error: GatewayError) -> GatewayError:
        error.headers = {**self.error_headers, **error.headers}
        return error


async def rendered(
    session: CompletionSession, render: Callable[[Read], Iterable[T]]
) -> AsyncIterator[T]:
    """The session's reads mapped to a front end's frames by ``render``; the session is closed
    when the reads end or the consumer stops early."""
    async with session:
        async for read in session.reads():
            for item in render(read):
                yield item


def client_gone(connection: HTTPConnection) -> ClientGone | None:
    """What completes when an HTTP client disconnects; None for a WebSocket (its operation is
    cancelled instead)."""
    if not isinstance(connection, Request):
        return None
    return partial(_until_disconnected, connection)


async def _until_disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _unless(reading: Coroutine[Any, Any, T], gone: Awaitable[object]) -> T | None:
    """``reading``'s result, or None when ``gone`` completes first (reading is then cancelled)."""
    reader = asyncio.ensure_future(reading)
    watcher = asyncio.ensure_future(gone)
    try:
        await asyncio.wait({reader, watcher}, return_when=asyncio.FIRST_COMPLETED)
        return reader.result() if reader.done() else None
    finally:
        reader.cancel()
        watcher.cancel()
        await asyncio.wait({reader, watcher})
        if not watcher.cancelled():
            watcher.exception()  # a receive that failed: the client is gone either way
