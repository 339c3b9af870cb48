"""The provider transport against a real socket that breaks mid-body: the bytes that arrived
with the break still reach the adapter, then the break is a StreamInterrupted."""

from __future__ import annotations

import asyncio

import pytest

from shared.errors import StreamInterrupted
from workers.providers.http_transport import HTTPTransport

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
FRAMES = [f'data: {{"n": {n}}}\n\n'.encode() for n in range(5)]


async def serve_then_break(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    # The head, every frame and the reset in one write: the client sees them in one read.
    body = b"".join(b"%x\r\n%s\r\n" % (len(frame), frame) for frame in FRAMES)
    writer.write(HEAD + body)
    await writer.drain()
    writer.transport.abort()


async def test_the_bytes_that_came_with_a_broken_body_are_read_before_the_error() -> None:
    server = await asyncio.start_server(serve_then_break, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = HTTPTransport(
        "breaking", f"http://127.0.0.1:{port}", {}, connect_s=5, max_connections=4, keepalive_s=4
    )
    received = b""
    try:
        response = await transport.post("/chat", b"{}")
        # A busy worker: the bytes and the break are both in before it reads.
        while response._response.content.exception() is None:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        with pytest.raises(StreamInterrupted):  # noqa: PT012
            async for data in response.chunks():
                received += data
        response.close()
    finally:
        await transport.aclose()
        server.close()
        await server.wait_closed()
    assert received == b"".join(FRAMES)
