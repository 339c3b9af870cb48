"""An incremental Server-Sent Events decoder that keeps network reads intact.

httpx-sse yields one event at a time; the worker wants every frame that arrived in one read at
once, so it can publish them as one event (the token path's cost is per event, not per byte).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SSEFrame:
    event: str
    data: str


class SSEDecoder:
    """Feed it bytes as they arrive; it returns the frames completed by them."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[SSEFrame]:
        buffer = self._buffer + chunk
        # A read may end between the \r and \n of one line break: keep the \r for the next read.
        held = b"\r" if buffer.endswith(b"\r") else b""
        buffer = buffer[: len(buffer) - len(held)].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *blocks, rest = buffer.split(b"\n\n")
        self._buffer = rest + held
        frames = []
        for block in blocks:
            frame = _parse_block(block.decode("utf-8"))
            if frame is not None:
                frames.append(frame)
        return frames

    @property
    def pending(self) -> bool:
        """True when bytes of an unfinished frame are buffered."""
        return bool(self._buffer.strip())


def _parse_block(block: str) -> SSEFrame | None:
    event = ""
    data: list[str] = []
    for line in block.split("\n"):
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    if not data and not event:
        return None
    return SSEFrame(event=event, data="\n".join(data))
