"""A completion session as OpenAI's stream: ``data: <chunk>`` frames, then ``data: [DONE]``.

The route reads ahead (``CompletionSession.begin``) before it answers, so a job that fails
before any token (a rejected prompt, every provider down) gets the error's HTTP status as OpenAI
would give it, rather than a 200 and an error chunk. That wait lasts at most one keep-alive
interval; a slower answer starts as a 200 with keep-alive comments.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

from gateway.session import CompletionSession, Events, Interrupted, Read, rendered
from gateway.sse import KEEPALIVE
from shared.events import DoneEvent
from shared.openai_format import ChunkStream, openai_error_body

DONE = b"data: [DONE]\n\n"


def data_frame(chunk: dict[str, object]) -> bytes:
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


class ChunkFrames:
    """Maps one session's reads to chunk frames (keep one per stream: the chunks have state)."""

    def __init__(self, chunks: ChunkStream) -> None:
        self.chunks = chunks

    def __call__(self, read: Read) -> list[bytes]:
        if isinstance(read, Interrupted):
            return [data_frame(openai_error_body(read.error))]
        if not isinstance(read, Events):
            return [KEEPALIVE]
        frames = [data_frame(chunk) for event in read.events for chunk in self.chunks.chunks(event)]
        if isinstance(read.events[-1].body, DoneEvent):
            frames.append(DONE)
        return [b"".join(frames)] if frames else []


def chunk_body(session: CompletionSession, chunks: ChunkStream) -> AsyncIterator[bytes]:
    return rendered(session, ChunkFrames(chunks))
