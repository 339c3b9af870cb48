"""A completion session as Anthropic's stream: ``event: <type>`` frames, ``ping`` while waiting.

The route reads ahead (``CompletionSession.begin``) before it answers, so a job that fails
before any of its answer gets the error's HTTP status in Anthropic's shape rather than a 200
and an ``error`` event. ``message_start`` opens every stream that does answer 200.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

from gateway.session import CompletionSession, Events, Interrupted, Read, rendered
from shared.anthropic_format import Frame, MessageStream, event_error

PING = b'event: ping\ndata: {"type":"ping"}\n\n'


def sse_frame(frame: Frame) -> bytes:
    name, data = frame
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class MessageFrames:
    """Maps one session's reads to stream frames (keep one per stream: the blocks have state)."""

    def __init__(self, stream: MessageStream) -> None:
        self.stream = stream

    def __call__(self, read: Read) -> list[bytes]:
        if isinstance(read, Interrupted):
            return [sse_frame(event_error(read.error))]
        if not isinstance(read, Events):
            return [PING]
        frames = [sse_frame(f) for event in read.events for f in self.stream.frames(event)]
        return [b"".join(frames)] if frames else []


async def message_stream_body(
    session: CompletionSession, stream: MessageStream
) -> AsyncIterator[bytes]:
    async with session:  # closed however the body ends, even before its first read
        yield b"".join(sse_frame(frame) for frame in stream.start())
        async for chunk in rendered(session, MessageFrames(stream)):
            yield chunk
