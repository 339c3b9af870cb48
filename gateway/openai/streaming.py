"""A job's events as OpenAI's stream: ``data: <chunk>`` frames, then ``data: [DONE]``.

The response status is chosen only once the answer has begun (its first delta), so a job that
fails before any token (a rejected prompt, every provider down) is answered with the error's
status as OpenAI would, rather than with a 200 and an error chunk. That wait lasts at most one
keep-alive interval; a slower answer starts as a 200 with keep-alive comments.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress

import anyio
import orjson
from redis.exceptions import RedisError

from gateway.feed import EventFeed
from gateway.sse import KEEPALIVE
from shared.errors import GatewayError, ServiceUnavailable, error_from_event
from shared.events import Event, EventType
from shared.openai_format import ChunkStream, openai_error_body

log = logging.getLogger(__name__)

DONE = b"data: [DONE]\n\n"
Abandon = Callable[[], Awaitable[object]]


def data_frame(chunk: dict[str, object]) -> bytes:
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


class OpenedFeed:
    """A job feed read up to the answer's beginning before the response is started."""

    def __init__(self, feed: EventFeed) -> None:
        self.feed = feed
        self.head: list[Event] = []
        self._batches = feed.batches()

    async def read_head(self, on_abandoned: Abandon) -> None:
        """Read until the first delta, the last event or a quiet spell. On failure the feed is
        closed, the job given up, and the error raised."""
        try:
            async for batch in self._batches:
                self.head.extend(batch)
                if not batch or any(e.type == EventType.DELTA or e.terminal for e in batch):
                    return
        except BaseException:
            await _give_up(self.feed, on_abandoned)
            raise

    def early_error(self) -> GatewayError | None:
        """The error the job ended with, when it ended before any of the answer."""
        if not self.head or self.head[-1].type != EventType.ERROR:
            return None
        if any(e.type == EventType.DELTA for e in self.head):
            return None
        return error_from_event(self.head[-1].data)

    async def batches(self) -> AsyncIterator[list[Event]]:
        """The head (or a keep-alive, when it ended in a quiet spell), then the rest."""
        yield self.head
        async for batch in self._batches:
            yield batch

    async def close(self) -> None:
        await self.feed.close()


async def chunk_body(
    opened: OpenedFeed, chunks: ChunkStream, *, on_abandoned: Abandon
) -> AsyncIterator[bytes]:
    """The SSE body; a client leaving before the end gives the job up (``on_abandoned``)."""
    finished = False
    try:
        async for batch in opened.batches():
            if not batch:
                yield KEEPALIVE
                continue
            frames = [data_frame(chunk) for event in batch for chunk in chunks.chunks(event)]
            finished = batch[-1].terminal
            if batch[-1].type == EventType.DONE:
                frames.append(DONE)
            if frames:
                yield b"".join(frames)
    except GatewayError as exc:
        finished = True
        yield data_frame(openai_error_body(exc))
    except (RedisError, OSError):
        log.warning("OpenAI stream of job %s lost Redis", opened.feed.job_id, exc_info=True)
        yield data_frame(openai_error_body(ServiceUnavailable("the gateway lost Redis")))
    finally:
        if finished:
            with anyio.CancelScope(shield=True):
                await opened.close()
        else:
            await _give_up(opened.feed, on_abandoned)


async def _give_up(feed: EventFeed, on_abandoned: Abandon) -> None:
    """Close the feed and let the job go (nobody will read it); Redis may be what failed."""
    with anyio.CancelScope(shield=True):
        await feed.close()
        with suppress(RedisError, OSError):
            await on_abandoned()
