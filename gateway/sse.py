"""The gateway's own Server-Sent Events: ``id:`` = seq, ``event:`` = type, ``data:`` = JSON.

A mapping of the completion session's reads to frames, and the response that carries them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from starlette.responses import StreamingResponse

from gateway.session import CompletionSession, Events, Interrupted, Read, rendered
from shared.errors import GatewayError
from shared.events import Event

# A comment line alone: it keeps proxies and clients from timing out, and ends no event block.
# With a blank line after it, httpx-sse (which keeps the last event id) would hand its users an
# empty phantom event for every keep-alive.
KEEPALIVE = b": keep-alive\n"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse_frame(event: Event) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.seq, event.type.encode(), event.raw)


def sse_error_frame(error: GatewayError) -> bytes:
    """An error that is not one of the job's events (it has no seq to resume from)."""
    return b"event: error\ndata: %s\n\n" % orjson.dumps(error.to_dict())


def sse_frames(read: Read) -> list[bytes]:
    """One read as frames; a batch of events goes out as one write."""
    if isinstance(read, Events):
        return [b"".join(map(sse_frame, read.events))]
    if isinstance(read, Interrupted):
        return [sse_error_frame(read.error)]
    return [KEEPALIVE]


def sse_body(session: CompletionSession) -> AsyncIterator[bytes]:
    return rendered(session, sse_frames)


def event_stream_response(
    body: AsyncIterator[bytes], headers: dict[str, str] | None = None
) -> StreamingResponse:
    return StreamingResponse(
        body, media_type="text/event-stream", headers={**SSE_HEADERS, **(headers or {})}
    )
