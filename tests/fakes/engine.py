"""Transport-level machinery shared by every wire format.

An `Exchange` is one HTTP request/response driven over raw ASGI: it watches for the client going
away (``http.disconnect``), sends frames, and fills in the request record. `run_stream` plays a
`StreamPlan` (the frames a format produced) with the scenario's delays and faults; `run_plain`
does the same for a JSON (non-streaming) answer.

"Abrupt" closes raise `AbortConnectionError` after the response has started: uvicorn then closes the
transport without the terminating zero-length chunk, so the client sees an incomplete body.
`AbortLogFilter` keeps uvicorn from printing a traceback for these deliberate aborts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.types import Message, Receive, Send

from .scenario import Scenario

SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"
TOKEN_KINDS = ("reasoning", "content", "tool")
_COUNTED_KINDS = ("content", "tool")  # what `tokens_sent` and `fault_after` count
_FAULT_POINT_KINDS = ("reasoning", "content", "tool", "finish")


class AbortConnectionError(Exception):
    """Raised after the response started to make the server drop the connection."""


class AbortLogFilter(logging.Filter):
    """Drop uvicorn's "Exception in ASGI application" records caused by `AbortConnectionError`."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc_info = record.exc_info
        return not (
            exc_info and exc_info[0] is not None and issubclass(exc_info[0], AbortConnectionError)
        )


@dataclass(frozen=True)
class Frame:
    """One wire frame. kind: comment | meta | reasoning | content | tool | finish | usage | done
    (`tool`: a tool-call header or argument fragment)."""

    kind: str
    data: bytes


@dataclass
class StreamPlan:
    frames: list[Frame]
    comment: bytes  # one keep-alive comment frame (terminated by a blank line)
    error_frames: list[bytes]  # the in-stream error (plus e.g. [DONE] when asked for)
    malformed: bytes  # a frame whose JSON does not parse
    content_type: str = SSE_CONTENT_TYPE


@dataclass
class Exchange:
    receive: Receive
    send: Send
    record: dict[str, Any]
    _gone: asyncio.Event = field(default_factory=asyncio.Event)
    _watcher: asyncio.Task[None] | None = None
    started: bool = False

    async def __aenter__(self) -> Exchange:
        self._watcher = asyncio.get_running_loop().create_task(self._watch())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watcher
        if self.record.get("ended_at") is None:
            # An exception escaped (e.g. a bug in the fake): do not leave the record open.
            self.finish("fault" if self.started else "error_status")

    async def _watch(self) -> None:
        while True:
            message: Message = await self.receive()
            if message["type"] == "http.disconnect":
                self._gone.set()
                return

    @property
    def disconnected(self) -> bool:
        return self._gone.is_set()

    async def sleep(self, seconds: float) -> bool:
        """Sleep, waking early if the client goes away. Returns True when the client is gone."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return self.disconnected
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._gone.wait(), timeout=seconds)
        return self.disconnected

    async def start(self, status: int, headers: dict[str, str]) -> None:
        self.started = True
        self.record["status"] = status
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        await self.send({"type": "http.response.start", "status": status, "headers": raw})

    async def body(self, data: bytes, *, more: bool = True) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": more})

    async def send_json(self, status: int, obj: object, headers: dict[str, str]) -> None:
        payload = orjson.dumps(obj)
        all_headers = {
            "content-type": JSON_CONTENT_TYPE,
            "content-length": str(len(payload)),
        } | headers
        await self.start(status, all_headers)
        await self.body(payload, more=False)

    def finish(self, outcome: str) -> None:
        if self.record.get("ended_at") is None:
            self.record["outcome"] = outcome
            self.record["ended_at"] = time.time()

    def abort(self) -> AbortConnectionError:
        self.finish("fault")
        return AbortConnectionError("fake provider: dropping the connection on purpose")


async def run_stream(
    ex: Exchange, sc: Scenario, fmt: str, plan: StreamPlan, headers: dict[str, str]
) -> None:
    """Play `plan` with the scenario's keep-alives, delays and faults."""
    await ex.start(200, {"content-type": plan.content_type, "cache-control": "no-cache"} | headers)
    for _ in range(sc.keepalives(fmt)):
        await ex.body(plan.comment)
        if await ex.sleep(sc.keepalive_interval_ms / 1000):
            ex.finish("client_closed")
            return
    if await ex.sleep(sc.first_token_delay_ms / 1000):
        ex.finish("client_closed")
        return

    fault = sc.fault if sc.fault not in (None, "keepalive_comments", "no_done") else None
    threshold = sc.fault_threshold(sum(1 for f in plan.frames if f.kind in _COUNTED_KINDS))
    outcome = "completed"
    first_token = True
    for frame in plan.frames:
        if (
            fault is not None
            and frame.kind in _FAULT_POINT_KINDS
            and ex.record["tokens_sent"] >= threshold
        ):
            current, fault = fault, None
            if current == "stall_after":
                if await ex.sleep(sc.stall_s):
                    ex.finish("client_closed")
                    return
                raise ex.abort()
            if current == "drop_after":
                raise ex.abort()
            if current == "error_frame_after":
                for data in plan.error_frames:
                    await ex.body(data)
                await ex.body(b"", more=False)
                ex.finish("fault")
                return
            if current == "malformed_after":
                await ex.body(plan.malformed)
                outcome = "fault"
        if frame.kind == "done" and sc.fault == "no_done":
            outcome = "fault"
            continue
        if frame.kind in TOKEN_KINDS:
            if not first_token and await ex.sleep(sc.token_delay_ms / 1000):
                ex.finish("client_closed")
                return
            first_token = False
        await ex.body(frame.data)
        if frame.kind in _COUNTED_KINDS:
            ex.record["tokens_sent"] += 1
        await asyncio.sleep(0)  # let the disconnect watcher run
        if ex.disconnected:
            ex.finish("client_closed")
            return
    await ex.body(b"", more=False)
    ex.finish(outcome)


async def run_plain(
    ex: Exchange,
    sc: Scenario,
    obj: dict[str, Any],
    headers: dict[str, str],
    *,
    total_tokens: int,
    sent_tokens: int,
    leading_blank_lines: int = 0,
) -> None:
    """A non-streaming JSON answer with the scenario's delays (+ DeepSeek's leading blank lines)."""
    payload = orjson.dumps(obj)
    delay = sc.first_token_delay_ms + sc.token_delay_ms * max(0, total_tokens - 1)
    if leading_blank_lines:
        # DeepSeek: 200 and headers at once, then "\n" keep-alives, then the JSON body (chunked).
        await ex.start(200, {"content-type": JSON_CONTENT_TYPE} | headers)
        for _ in range(leading_blank_lines):
            await ex.body(b"\n")
            if await ex.sleep(sc.keepalive_interval_ms / 1000):
                ex.finish("client_closed")
                return
        if await ex.sleep(delay / 1000):
            ex.finish("client_closed")
            return
        await ex.body(payload, more=False)
        ex.record["tokens_sent"] = sent_tokens
        ex.finish("completed")
        return

    if await ex.sleep(delay / 1000):
        ex.finish("client_closed")
        return
    full = {"content-type": JSON_CONTENT_TYPE, "content-length": str(len(payload))} | headers
    if sc.fault == "stall_after" and await ex.sleep(sc.stall_s):
        ex.finish("client_closed")
        return
    if sc.fault in ("stall_after", "drop_after"):
        # Headers promise the whole body, half of it arrives, then the connection drops.
        await ex.start(200, full)
        await ex.body(payload[: len(payload) // 2])
        raise ex.abort()
    if sc.fault == "malformed_after":
        cut = payload[: len(payload) // 2]
        await ex.start(200, full | {"content-length": str(len(cut))})
        await ex.body(cut, more=False)
        ex.finish("fault")
        return
    await ex.start(200, full)
    await ex.body(payload, more=False)
    ex.record["tokens_sent"] = sent_tokens
    ex.finish("completed")
