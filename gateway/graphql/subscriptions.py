"""Subscription resolvers: a job's events, replayed from the first and then live.

``streamCompletion`` follows a job started elsewhere (``startStreamCompletion``,
``submitCompletion``): leaving it cancels nothing. ``completeStream`` starts its own job, which
is a *stream* job: stopping the subscription or closing the socket before the last event
cancels it, and the worker closes the upstream call.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, cast

from ariadne import SubscriptionType
from ariadne.types import Subscriber

from gateway.completions import Following, follow, leave
from gateway.feed import EventFeed
from gateway.graphql.context import Info, context_of
from gateway.graphql.inputs import completion_input
from gateway.graphql.outputs import stream_item
from gateway.graphql.running import admitted, events_of, job_when_it_exists
from shared.errors import InvalidRequest, JobNotFound
from shared.events import Event

subscription = SubscriptionType()


async def stream_completion_source(
    _: None, info: Info, stream_id: str, after_seq: int = 0
) -> AsyncIterator[dict[str, Any]]:
    ctx = context_of(info)
    gateway, owner = ctx.gateway, ctx.principal.key_id
    if after_seq < 0:
        raise InvalidRequest("afterSeq must not be negative")
    # Another key's job is refused now, before the subscription holds. A job that does not
    # exist yet may be about to (the client subscribed before starting it): the stream waits.
    known = await gateway.store.load(stream_id)
    if known is not None and known.owner != owner:
        raise JobNotFound(f"no job {stream_id}")

    async def open_feed() -> EventFeed:
        job = known or await job_when_it_exists(gateway, stream_id, owner)
        feed = gateway.feed(job.id, job.deadline_at, after_seq=after_seq)
        await feed.open()
        return feed

    return _items(lambda: stream_id, events_of(open_feed))


async def complete_stream_source(
    _: None,
    info: Info,
    messages: list[dict[str, Any]],
    options: dict[str, Any] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    ctx = context_of(info)
    ask = completion_input(messages, options)
    admission = await admitted(ctx, ask, "stream")  # a refused one fails the subscribe itself
    started: list[Following] = []

    async def start() -> EventFeed:
        following = await follow(ctx.gateway, admission, exclusive=ask.stream_id is not None)
        started.append(following)
        return following.feed

    async def abandon() -> None:
        await leave(ctx.gateway, started[0])

    return _items(lambda: started[0].job_id, events_of(start, on_abandoned=abandon))


# Sources are coroutines returning the iterator, not generators: graphql-core awaits them, so a
# refused request (an unknown model, another key's job) fails the subscribe operation itself.
subscription.set_source("streamCompletion", cast(Subscriber, stream_completion_source))
subscription.set_source("completeStream", cast(Subscriber, complete_stream_source))


async def _items(
    job_id: Callable[[], str], events: AsyncGenerator[Event, None]
) -> AsyncIterator[dict[str, Any]]:
    """``job_id`` is asked once the job has started (a request may join another's job)."""
    try:
        async for event in events:
            yield stream_item(job_id(), event)
    finally:
        await events.aclose()  # runs its clean-up now, not whenever it is collected


@subscription.field("streamCompletion")
@subscription.field("completeStream")
def resolve_item(item: dict[str, Any], *_: Any, **__: Any) -> dict[str, Any]:
    return item
