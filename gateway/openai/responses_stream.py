"""A completion session as the Responses API's stream: ``event: <type>`` / ``data: <json>``
frames numbered from 0, no ``[DONE]``; keep-alive comments while the session ticks.

The outcome is stored before the frame that announces it (``response.completed`` or
``response.failed``) goes out, so a client that continues with ``previous_response_id`` the
moment its stream ends finds it. ``after`` drops the events a reader already has (a replay
with ``starting_after``); the numbering is the live stream's (see
``shared.responses_format.stream``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import orjson

from gateway.session import CompletionSession, Interrupted, KeepAlive
from gateway.sse import KEEPALIVE
from shared.events import Event
from shared.responses_format import ResponseEvents, ResponseOutcome

OnOutcome = Callable[[ResponseOutcome], Awaitable[None]]


def frames(events: Iterable[dict[str, Any]], after: int = -1) -> bytes:
    """The events numbered above ``after`` as SSE frames, in one write."""
    return b"".join(
        b"event: %s\ndata: %s\n\n" % (event["type"].encode(), orjson.dumps(event))
        for event in events
        if event["sequence_number"] > after
    )


async def response_stream(
    session: CompletionSession,
    rendering: ResponseEvents,
    *,
    on_outcome: OnOutcome | None = None,
    after: int = -1,
) -> AsyncIterator[bytes]:
    """The session's reads as the response's frames; the session is closed when they end or
    the client leaves."""
    async with session:
        opening = frames(rendering.opening(), after)
        if opening:
            yield opening
        async for read in session.reads():
            if isinstance(read, KeepAlive):
                yield KEEPALIVE
                continue
            if isinstance(read, Interrupted):
                rendered = rendering.interrupted(read.error)
            else:
                rendered = [e for event in read.events for e in rendering.events(event)]
                if rendering.outcome is not None and on_outcome is not None:
                    await on_outcome(rendering.outcome)
            data = frames(rendered, after)
            if data:
                yield data


async def replayed(
    rendering: ResponseEvents, ending: Event, after: int = -1
) -> AsyncIterator[bytes]:
    """A finished response whose job is gone, streamed again from its outcome alone."""
    yield frames([*rendering.opening(), *rendering.events(ending)], after)
