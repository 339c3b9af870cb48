"""Subscription resolvers: a job's events, replayed from the first and then live.

``streamCompletion`` follows a job started elsewhere (``startStreamCompletion``,
``submitCompletion``): leaving it cancels nothing. ``completeStream`` starts its own job, which
is a *stream* job: stopping the subscription or closing the socket before the last event
cancels it, and the worker closes the upstream call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

from ariadne import SubscriptionType
from ariadne.types import Subscriber

from gateway.completions import follow_session, start_session
from gateway.graphql.context import Info, context_of
from gateway.graphql.inputs import completion_input
from gateway.graphql.outputs import stream_items
from gateway.graphql.running import admitted, job_when_it_exists
from gateway.session import CompletionSession, rendered
from shared.errors import InvalidRequest, JobNotFound

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

    async def follow() -> CompletionSession:
        job = known or await job_when_it_exists(gateway, stream_id, owner)
        return await follow_session(gateway, job, after_seq=after_seq)

    return _items(follow)


async def complete_stream_source(
    _: None,
    info: Info,
    messages: list[dict[str, Any]],
    options: dict[str, Any] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    ctx = context_of(info)
    ask = completion_input(messages, options)
    admission = await admitted(ctx, ask, "stream")  # a refused one fails the subscribe itself

    async def start() -> CompletionSession:
        return await start_session(ctx.gateway, admission, exclusive=ask.stream_id is not None)

    return _items(start)


# Sources are coroutines returning the iterator, not generators: graphql-core awaits them, so a
# refused request (an unknown model, another key's job) fails the subscribe operation itself.
subscription.set_source("streamCompletion", cast(Subscriber, stream_completion_source))
subscription.set_source("completeStream", cast(Subscriber, complete_stream_source))


async def _items(
    open_session: Callable[[], Awaitable[CompletionSession]],
) -> AsyncIterator[dict[str, Any]]:
    """The session's events as subscription items. The session is opened on the first read,
    not when the subscription is set up: a subscription stopped before it ever ran is closed
    without running this body, so nothing may be left open (or started) by then."""
    session = await open_session()
    async with session:  # closed when the subscription stops, not when this is collected
        async for item in rendered(session, stream_items(session.job_id)):
            yield item


@subscription.field("streamCompletion")
@subscription.field("completeStream")
def resolve_item(item: dict[str, Any], *_: Any, **__: Any) -> dict[str, Any]:
    return item
