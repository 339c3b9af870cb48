"""A job's events as Anthropic's stream (wire-tools §5.2): ``message_start``; each content block
as ``content_block_start``, deltas and ``content_block_stop``, numbered from 0, one at a time;
``message_delta`` with the stop reason and the usage; ``message_stop``.

* Text streams as ``text_delta`` as it comes, and a tool call as a ``tool_use`` block (its
  ``input`` ``{}`` at the start) whose arguments come only as ``input_json_delta`` (Claude Code
  reads tool input from nowhere else).
* Blocks never interleave, and an OpenAI-compatible upstream may interleave its calls'
  fragments. The open block keeps streaming; what comes for another block is held and sent whole
  when the open one closes. A block closes when another one starts, but a tool call only once
  its arguments are whole JSON (nothing can follow a complete JSON value): interleaved calls are
  held, sequential ones stream.
* Reasoning streams as a ``thinking`` block (``thinking_delta``), unsigned, where it comes: that
  is all a provider without signatures (DeepSeek, OpenAI-compatible reasoners) has.
* Signed thinking (an Anthropic route with thinking on: ``signed_thinking``) must go back with
  its signature, which reaches the gateway only with the answer's ``done`` event (the delta
  events do not carry it), and a thinking block comes first in its message (Claude Code reads a
  turn's answer from its last block). So a first thinking block streams and stays open until
  the end, when its ``signature_delta`` closes it, and every other block is held and sent whole
  after it: the answer's thinking blocks from ``done`` first, then the text and tool calls.
* ``message_start`` has the gateway's estimate of the input tokens, ``message_delta`` the real
  counts (the SDKs keep the last); the TTL split of cache writes is only in the JSON answer (the
  SDKs do not read it from a ``message_delta``).
* A failure after the start is an ``error`` event (``event_error``), and nothing follows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import orjson

from shared.anthropic_format.errors import error_object
from shared.anthropic_format.response import (
    message_id,
    stop_reason,
    thinking_blocks,
    usage_object,
)
from shared.errors import GatewayError
from shared.events import DeltaEvent, DoneEvent, ErrorEvent, Event, ToolCallDelta

Frame = tuple[str, dict[str, Any]]


class BlockKind(Enum):
    THINKING = "thinking"
    TEXT = "text"
    TOOL = "tool_use"


@dataclass(slots=True)
class _Block:
    """A content block: open (streaming), or held until the open one closes."""

    kind: BlockKind
    call: int | None = None  # the tool call's index
    id: str = ""
    name: str = ""
    pieces: list[str] = field(default_factory=list)  # text, thinking, or argument fragments

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def whole(self) -> bool:
        """Nothing more can come for it: text and thinking always; a call once its arguments
        parse."""
        if self.kind is not BlockKind.TOOL:
            return True
        try:
            orjson.loads(self.text)
        except orjson.JSONDecodeError:
            return False
        return True


@dataclass(slots=True)
class MessageStream:
    """The frames of one job's stream, event by event (keep one per stream: it has state).
    ``signed_thinking``: the route answers with signed thinking (see the module's notes)."""

    job_id: str
    model: str
    input_estimate: int = 0
    signed_thinking: bool = False
    _index: int = 0  # the next block's number
    _open: _Block | None = None
    _held: list[_Block] = field(default_factory=list)
    _calls: dict[int, _Block] = field(default_factory=dict)
    _thought_live: bool = False  # reasoning went out as it came

    def start(self) -> list[Frame]:
        message: dict[str, Any] = {
            "id": message_id(self.job_id),
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": self.input_estimate,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 0,
            },
        }
        return [("message_start", {"type": "message_start", "message": message})]

    def frames(self, event: Event) -> list[Frame]:
        """What ``event`` adds to the stream (often nothing)."""
        body = event.body
        if isinstance(body, DeltaEvent):
            out: list[Frame] = []
            if body.reasoning:
                out += self._piece(BlockKind.THINKING, body.reasoning)
            if body.content:
                out += self._piece(BlockKind.TEXT, body.content)
            for fragment in body.tool_calls:
                out += self._fragment(fragment)
            return out
        if isinstance(body, DoneEvent):
            return self._end(body)
        if isinstance(body, ErrorEvent):
            return [event_error(body.error())]
        return []

    def _piece(self, kind: BlockKind, text: str) -> list[Frame]:
        if self._open is not None and self._open.kind is kind:
            return [self._delta(self._open, text)]
        if self._held:  # once a block is held, every later one is
            last = self._held[-1]
            if last.kind is kind:
                last.pieces.append(text)
            else:
                self._held.append(_Block(kind, pieces=[text]))
            return []
        return self._switch(_Block(kind), text)

    def _fragment(self, fragment: ToolCallDelta) -> list[Frame]:
        known = self._calls.get(fragment.index)
        if known is not None:
            if known is self._open:
                return [self._delta(known, fragment.arguments)] if fragment.arguments else []
            known.pieces.append(fragment.arguments)  # held (or, anomalously, closed)
            return []
        call = _Block(BlockKind.TOOL, fragment.index, fragment.id or "", fragment.name or "")
        self._calls[fragment.index] = call
        if self._held:
            call.pieces.append(fragment.arguments)
            self._held.append(call)
            return []
        return self._switch(call, fragment.arguments)

    def _switch(self, block: _Block, first: str) -> list[Frame]:
        """Open ``block`` (closing the open one), or hold it: while the open call's arguments
        are unfinished, and, awaiting a signature, after a first thinking block."""
        opened = self._open
        awaiting = self.signed_thinking and not (
            block.kind is BlockKind.THINKING and opened is None and self._index == 0
        )
        if awaiting or (opened is not None and not opened.whole()):
            block.pieces.append(first)
            self._held.append(block)
            return []
        out = self._close()
        out.append(self._start(block))
        if first:
            out.append(self._delta(block, first))
        return out

    def _start(self, block: _Block) -> Frame:
        self._open = block
        content: dict[str, Any]
        if block.kind is BlockKind.TOOL:
            content = {"type": "tool_use", "id": block.id, "name": block.name, "input": {}}
        elif block.kind is BlockKind.THINKING:
            content = {"type": "thinking", "thinking": "", "signature": ""}
            self._thought_live = True
        else:
            content = {"type": "text", "text": ""}
        start = {"type": "content_block_start", "index": self._index, "content_block": content}
        return ("content_block_start", start)

    def _delta(self, block: _Block, piece: str) -> Frame:
        block.pieces.append(piece)
        return ("content_block_delta", _block_delta(self._index, _DELTAS[block.kind](piece)))

    def _close(self, signature: str = "") -> list[Frame]:
        block, self._open = self._open, None
        if block is None:
            return []
        out: list[Frame] = []
        if block.kind is BlockKind.TOOL and not block.text:
            out.append(self._delta(block, "{}"))  # no arguments: still an object, and a delta
        if signature:
            delta = {"type": "signature_delta", "signature": signature}
            out.append(("content_block_delta", _block_delta(self._index, delta)))
        out.append(("content_block_stop", {"type": "content_block_stop", "index": self._index}))
        self._index += 1
        return out

    def _end(self, done: DoneEvent) -> list[Frame]:
        thinking = thinking_blocks(done.message) if done.message else []
        if self.signed_thinking:
            out = self._close_signed(thinking)
            # The answer's details are the thinking; what was held of it is the same text.
            self._held = [b for b in self._held if b.kind is not BlockKind.THINKING]
            thinking = []
        else:
            out = self._close()
            if self._thought_live:
                thinking = []  # it went out as it came
        for block in self._held:
            text, block.pieces = block.text, []
            out.append(self._start(block))
            if text:
                out.append(self._delta(block, text))
            out += self._close()
        self._held = []
        for whole in thinking:
            out += self._whole_thinking(whole)
        usage = {k: v for k, v in usage_object(done.usage).items() if k != "service_tier"}
        delta = {"stop_reason": stop_reason(done.finish_reason), "stop_sequence": None}
        out.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
        out.append(("message_stop", {"type": "message_stop"}))
        return out

    def _close_signed(self, thinking: list[dict[str, Any]]) -> list[Frame]:
        """The first thinking block (open since it streamed) closed with its signature, then
        the answer's other thinking blocks whole: all before the held blocks."""
        out: list[Frame] = []
        opened = self._open
        first = next((b for b in thinking if b["type"] == "thinking"), None)
        if opened is not None and first is not None:
            thinking = [b for b in thinking if b is not first]
            streamed, whole = opened.text, first["thinking"]
            if whole.startswith(streamed) and whole != streamed:
                out.append(self._delta(opened, whole[len(streamed) :]))
            out += self._close(first["signature"])
        else:
            out += self._close()
        for block in thinking:
            out += self._whole_thinking(block)
        return out

    def _whole_thinking(self, block: dict[str, Any]) -> list[Frame]:
        index = self._index
        self._index += 1
        if block["type"] == "redacted_thinking":
            start = {"type": "content_block_start", "index": index, "content_block": block}
            stop = {"type": "content_block_stop", "index": index}
            return [("content_block_start", start), ("content_block_stop", stop)]
        opening = {"type": "thinking", "thinking": "", "signature": ""}
        start = {"type": "content_block_start", "index": index, "content_block": opening}
        out: list[Frame] = [("content_block_start", start)]
        if block["thinking"]:
            delta = {"type": "thinking_delta", "thinking": block["thinking"]}
            out.append(("content_block_delta", _block_delta(index, delta)))
        if block["signature"]:
            delta = {"type": "signature_delta", "signature": block["signature"]}
            out.append(("content_block_delta", _block_delta(index, delta)))
        out.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        return out


_DELTAS = {
    BlockKind.TEXT: lambda piece: {"type": "text_delta", "text": piece},
    BlockKind.THINKING: lambda piece: {"type": "thinking_delta", "thinking": piece},
    BlockKind.TOOL: lambda piece: {"type": "input_json_delta", "partial_json": piece},
}


def _block_delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def event_error(error: GatewayError) -> Frame:
    """A failure in the middle of a stream, as the API sends one (nothing follows it)."""
    return ("error", {"type": "error", "error": error_object(error)})
