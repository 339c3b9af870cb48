"""uvicorn's httptools protocol with the bounds it lacks: the size and count of a request's
headers (431), and read timeouts, so a client cannot hold a connection open with a request it
never finishes (408). uvicorn bounds neither with httptools (h11's only knob caps the header
block; neither has a read timeout), and its keep-alive timeout applies between requests only.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """``max_header_bytes`` counts the request line's target and every header's name and value;
    ``head_timeout_s`` runs from the connection (or the previous response) to the end of the
    headers; ``body_idle_timeout_s`` is the longest silence while a body is still coming."""

    max_header_bytes: int
    max_headers: int
    head_timeout_s: float
    body_idle_timeout_s: float


class _Refused(Exception):
    """Raised in a parser callback; httptools turns it into a parser error."""


def _response(status: bytes, code: str, message: str) -> bytes:
    body = orjson.dumps({"error": {"code": code, "message": message, "retryable": False}})
    return b"".join(
        [
            b"HTTP/1.1 " + status + b"\r\n",
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        ]
    )


TOO_LARGE = _response(
    b"431 Request Header Fields Too Large",
    "request_header_too_large",
    "the request's headers are too large or too many",
)
TIMED_OUT = _response(
    b"408 Request Timeout", "request_timeout", "the request did not arrive in time"
)


def bounded_http(limits: HttpLimits) -> type[asyncio.Protocol]:
    """The protocol class to give uvicorn (``http=``), holding these limits."""

    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self._head_bytes = self._head_count = 0
            self._refused = False
            self._in_body = False
            self._timer: asyncio.TimerHandle | None = None
            super().connection_made(transport)
            self._arm(limits.head_timeout_s)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._in_body:
                self._arm(limits.body_idle_timeout_s)
            super().data_received(data)

        def on_message_begin(self) -> None:
            self._head_bytes = self._head_count = 0
            self._arm(limits.head_timeout_s)
            super().on_message_begin()

        def on_url(self, url: bytes) -> None:
            self._count(len(url), headers=0)
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value), headers=1)
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._in_body = True
            self._arm(limits.body_idle_timeout_s)
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_body = False
            self._disarm()
            super().on_message_complete()

        def send_400_response(self, msg: str) -> None:
            if not self._refused:
                super().send_400_response(msg)
                return
            self.transport.write(TOO_LARGE)
            self.transport.close()

        def _count(self, size: int, *, headers: int) -> None:
            self._head_bytes += size
            self._head_count += headers
            too_many = self._head_count > limits.max_headers
            if self._head_bytes > limits.max_header_bytes or too_many:
                self._refused = True
                raise _Refused

        def _arm(self, delay_s: float) -> None:
            self._disarm()
            self._timer = self.loop.call_later(delay_s, self._timed_out)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _timed_out(self) -> None:
            self._timer = None
            if self.transport.is_closing():
                return
            if self._in_body and self.flow.read_paused:
                self._arm(limits.body_idle_timeout_s)  # the app has not read what came yet
                return
            cycle: Any = self.cycle
            if not self._in_body or cycle is None or not cycle.response_started:
                self.transport.write(TIMED_OUT)
            self.transport.close()

    return BoundedHttpToolsProtocol
