"""The gateway's own Server-Sent Events: ``id:`` = seq, ``event:`` = type, ``data:`` = JSON.

A mapping of the completion session's reads to frames, and the response that carries them.
Two styles: named (the default: ``event:`` is the type, for ``addEventListener``) and, with
``named=False``, messages (no ``event:`` line: EventSource hands every event to ``onmessage``,
and the JSON's ``type`` tells which). The first frame carries a ``retry:`` hint.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

from gateway.session import CompletionSession, Events, Interrupted, Read, rendered
from shared.errors import GatewayError
from shared.events import Event

# A comment line alone: it keeps proxies and clients from timing out, and ends no event block.
# With a blank line after it, httpx-sse (which keeps the last event id) would hand its users an
# empty phantom event for every keep-alive.
KEEPALIVE = b": keep-alive\n"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# The id of a refusal sent as an event (to a page, which cannot read an HTTP status): the
# reconnect that follows carries it as Last-Event-ID and is answered 204, which stops it.
REFUSED_ID = "refused"


def sse_frame(event: Event) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.seq, event.type.encode(), event.raw)


def sse_message_frame(event: Event) -> bytes:
    return b"id: %d\ndata: %s\n\n" % (event.seq, event.raw)


def sse_error_frame(error: GatewayError, *, named: bool = True, **extra: Any) -> bytes:
    """An error that is not one of the job's events (it has no seq to resume from)."""
    data = orjson.dumps({"type": "error", **error.to_dict(), **extra})
    return (b"event: error\ndata: %s\n\n" if named else b"data: %s\n\n") % data


def sse_frames(read: Read, *, named: bool = True) -> list[bytes]:
    """One read as frames; a batch of events goes out as one write."""
    if isinstance(read, Events):
        return [b"".join(map(sse_frame if named else sse_message_frame, read.events))]
    if isinstance(read, Interrupted):
        return [sse_error_frame(read.error, named=named)]
    return [KEEPALIVE]


def sse_body(
    session: CompletionSession, *, named: bool = True, retry_ms: int | None = None
) -> AsyncIterator[bytes]:
    return rendered(session, sse_renderer(named, retry_ms))


def sse_renderer(named: bool, retry_ms: int | None) -> Callable[[Read], list[bytes]]:
    """The frames of each read of one stream, in the named or unnamed style, the first with
    the ``retry:`` hint."""
    # The hint rides on the first frame, inside its block: alone, a block with only `retry:`
    # would be dispatched by some clients (httpx-sse) as an empty event.
    hint = b"retry: %d\n" % retry_ms if retry_ms is not None else b""

    def render(read: Read) -> list[bytes]:
        nonlocal hint
        frames = sse_frames(read, named=named)
        if hint:
            frames[0], hint = hint + frames[0], b""
        return frames

    return render


class EventStreamResponse(StreamingResponse):
    """A route's answer class for the API docs: its 200 is ``text/event-stream``."""

    media_type = "text/event-stream"


def event_stream_response(
    body: AsyncIterator[bytes], headers: dict[str, str] | None = None
) -> StreamingResponse:
    return StreamingResponse(
        body, media_type="text/event-stream", headers={**SSE_HEADERS, **(headers or {})}
    )


def refusal_response(error: GatewayError, *, named: bool, retry_ms: int) -> Response:
    """A refused stream as a page can read it: 200, one ``error`` event with the status the
    request would have had, whose id makes the browser's reconnect end (204)."""
    frame = b"retry: %d\nid: %s\n%s" % (
        retry_ms,
        REFUSED_ID.encode(),
        sse_error_frame(error, named=named, status=error.http_status),
    )
    return Response(frame, media_type="text/event-stream", headers={**SSE_HEADERS, **error.headers})
