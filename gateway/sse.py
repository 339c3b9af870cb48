"""Server-Sent Events framing of job events: ``id:`` = seq, ``event:`` = type, ``data:`` = JSON.

Starlette's StreamingResponse already races the body against ``http.disconnect`` and cancels it
when the client leaves; this module adds the framing, keep-alives and the end-of-stream rule.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress

import anyio
import orjson
from redis.exceptions import RedisError
from starlette.responses import StreamingResponse

from gateway.feed import EventFeed
from shared.errors import GatewayError, ServiceUnavailable
from shared.events import Event

log = logging.getLogger(__name__)

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


async def sse_body(
    feed: EventFeed,
    *,
    on_abandoned: Callable[[], Awaitable[object]] | None = None,
) -> AsyncIterator[bytes]:
    """The feed as SSE bytes; closes the feed, and calls ``on_abandoned`` if the client left
    before the job's last event."""
    finished = False
    try:
        async for batch in feed.batches():
            if not batch:
                yield KEEPALIVE
                continue
            yield b"".join(map(sse_frame, batch))
            finished = batch[-1].terminal
    except GatewayError as exc:
        finished = True
        yield sse_error_frame(exc)
    except (RedisError, OSError):
        log.warning("stream of job %s lost Redis", feed.job_id, exc_info=True)
        yield sse_error_frame(
            ServiceUnavailable("the gateway lost Redis; resume with Last-Event-ID")
        )
    finally:
        with anyio.CancelScope(shield=True):
            await feed.close()
            if not finished and on_abandoned is not None:
                # Redis may be what ended the stream; the job then ends at its deadline.
                with suppress(RedisError, OSError):
                    await on_abandoned()


def event_stream_response(
    body: AsyncIterator[bytes], headers: dict[str, str] | None = None
) -> StreamingResponse:
    return StreamingResponse(
        body, media_type="text/event-stream", headers={**SSE_HEADERS, **(headers or {})}
    )
