"""Starting and following jobs for GraphQL operations: admission, the wait for the end, the
events of a subscription, and who cancels what when a client leaves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable

import anyio
from starlette.requests import Request

from gateway.admission import Admission, admit
from gateway.completions import Following, follow, leave, until_disconnected
from gateway.feed import EventFeed
from gateway.graphql.context import RequestContext
from gateway.graphql.inputs import CompletionInput
from gateway.jobs import Gateway
from shared.errors import Conflict, JobCancelled, JobNotFound
from shared.events import Event
from shared.jobs import Job, JobKind

# A subscriber may subscribe to a streamId before the mutation that starts its job arrives; it
# waits this long for the job to appear.
JOB_WAIT_S = 10.0


async def admitted(ctx: RequestContext, ask: CompletionInput, kind: JobKind) -> Admission:
    """The job for this completion, checked as REST checks it; its id is the streamId if any.

    A streamId in use is refused before admission counts the request against the key's limits;
    creating the job refuses it again, atomically, should two clients race for one id."""
    if ask.stream_id is not None and await ctx.gateway.store.progress(ask.stream_id):
        raise Conflict(f"the id {ask.stream_id!r} is already in use; choose another")
    return await admit(ctx.gateway, ctx.principal, ask.chat, kind=kind, job_id=ask.stream_id)


async def job_when_it_exists(gateway: Gateway, job_id: str, owner: str) -> Job:
    """The job once it exists (waiting up to JOB_WAIT_S); JobNotFound if it never appears or is
    another key's."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + JOB_WAIT_S
    pause = 0.02
    while True:
        job = await gateway.store.load(job_id)
        if job is not None and job.owner == owner:
            return job
        if job is not None or loop.time() >= deadline:
            raise JobNotFound(f"no job {job_id}")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.25)


async def run_to_end(
    ctx: RequestContext, admission: Admission, *, exclusive: bool
) -> tuple[Event, Following]:
    """Start the job and wait for its last event. A client that goes away (an HTTP disconnect,
    or its WebSocket operation stopped) cancels the job: nobody would read the answer."""
    gateway = ctx.gateway
    following = await follow(gateway, admission, exclusive=exclusive)
    waiting = asyncio.create_task(gateway.wait_for_end(following.feed))
    watched: set[asyncio.Task[object]] = {waiting}
    if isinstance(ctx.connection, Request):
        watched.add(asyncio.create_task(until_disconnected(ctx.connection)))
    try:
        await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        if waiting.done():
            return waiting.result(), following
        raise JobCancelled("the client went away")
    finally:
        for task in watched:
            task.cancel()
        if not waiting.done() or waiting.cancelled():
            with anyio.CancelScope(shield=True):
                await leave(gateway, following)


async def events_of(
    open_feed: Callable[[], Awaitable[EventFeed]],
    *,
    on_abandoned: Callable[[], Awaitable[object]] | None = None,
) -> AsyncGenerator[Event, None]:
    """The events of the feed ``open_feed`` opens (it may start the job). Closes the feed, and
    calls ``on_abandoned`` when the reader leaves (the subscription is stopped, its socket
    closed) before the job's last event.

    The feed is opened on the first read, not when the subscription is set up: a subscription
    stopped before it ever ran is closed without running this body, so nothing may be left
    open (or started) by then."""
    feed: EventFeed | None = None
    finished = False
    try:
        feed = await open_feed()
        async for batch in feed.batches():
            for event in batch:  # an empty batch is a quiet spell: WebSockets keep alive
                finished = event.terminal
                yield event
    except Exception:
        finished = True  # not abandoned: the reader is told what failed
        raise
    finally:
        with anyio.CancelScope(shield=True):
            # Without a feed the job never started, or its id was someone else's (CONFLICT):
            # there is nothing of this reader's to cancel.
            if feed is not None:
                await feed.close()
                if not finished and on_abandoned is not None:
                    await on_abandoned()
