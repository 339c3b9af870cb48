"""The events of one Anthropic Messages stream as chunks (provider-wire §5.3, wire-tools §4.3-4.4).

* Events are typed by their SSE ``event:`` line; the stream ends with ``message_stop`` (no
  ``[DONE]``); ``ping`` can come anywhere; ``event: error`` reports a failure inside a 200.
* ``index`` counts every content block, so a tool after text is block 1: tool calls get their
  own counter, 0..n-1, as Chat Completions numbers them (forwarding 1 breaks openai-python).
  A ``tool_use`` start is a call's first fragment (id, name, ``arguments: ""``); each non-empty
  ``input_json_delta`` is a piece of its arguments. A block cut by ``max_tokens`` may never get
  its ``content_block_stop``: its fragments are already out, so it ends with the stream.
* A ``thinking`` block streams its text as reasoning and ends, at its ``content_block_stop``,
  as one whole ``reasoning.text`` detail with the ``signature`` of its ``signature_delta``;
  a ``redacted_thinking`` block comes whole in its start, as a ``reasoning.encrypted`` detail.
  The client sends both back unchanged on its next turn.
* Input tokens arrive in ``message_start``, output tokens in ``message_delta``, every count a
  running total (the last one wins: summing would over-count); cache writes are split by TTL.

A non-streamed message (``whole``) reads as the stream of its whole blocks would.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from shared.content import ReasoningDetail
from shared.errors import StreamInterrupted
from shared.events import ToolCallDelta
from shared.usage import Usage
from workers.providers.anthropic_messages import THINKING_FORMAT
from workers.providers.base import Chunk
from workers.providers.http_errors import from_error_event
from workers.providers.sse import SSEFrame
from workers.providers.sse_chat import parse_frame

# Anthropic stop_reason -> the finish_reason every front end speaks (wire-tools §4.3); others
# pass through. pause_turn: a server tool paused a long turn; what came is a whole answer.
STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


@dataclass(slots=True)
class _Thinking:
    text: list[str] = field(default_factory=list)
    signature: str | None = None


@dataclass(slots=True)
class _ToolUse:
    index: int  # ours, over tool blocks only
    start_input: dict[str, Any]
    streamed: bool = False  # a non-empty input_json_delta came


class MessagesParser:
    """One Messages stream; keeps per-block state and the input usage until the output total."""

    terminator = "message_stop"

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.input_tokens = 0
        self.cache_read = 0
        self.cache_creation = 0
        self.cache_creation_1h = 0
        self.output_tokens = 0
        self.reported_usage = False
        self._open: dict[int, _Thinking | _ToolUse] = {}  # Anthropic block index -> state
        self._tool_calls = 0
        self._details = 0

    def merge(self, frames: list[SSEFrame]) -> tuple[Chunk, bool]:
        merged = Chunk()
        for frame in frames:
            payload = parse_frame(self.provider, frame)
            # Dispatch on the event name, as the SDK does; the JSON repeats it as `type`.
            kind = frame.event or str(payload.get("type") or "")
            if kind == "message_stop":
                for index in sorted(self._open):  # blocks cut short: end them with the stream
                    self._close(merged, index)
                if not self.reported_usage:  # no message_delta came: report what we know
                    merged.usage = self.usage()
                return merged, True
            self._merge_event(merged, kind, payload)
        return merged, False

    def whole(self, answer: dict[str, Any]) -> Chunk:
        """A non-streamed message as one chunk: each block opened whole and closed at once."""
        if answer.get("type") == "error":
            raise from_error_event(self.provider, answer)
        content = answer.get("content")
        if not isinstance(content, list):
            raise StreamInterrupted(
                f"{self.provider}: the answer has no content", provider=self.provider
            )
        merged = Chunk()
        for index, block in enumerate(content):
            if isinstance(block, dict):
                self._start(merged, index, block)
                self._close(merged, index)
        stop_reason = answer.get("stop_reason")
        if isinstance(stop_reason, str):
            merged.finish_reason = STOP_REASONS.get(stop_reason, stop_reason)
        self._take_usage(answer.get("usage") or {})
        merged.usage = self.usage()
        return merged

    def _merge_event(self, merged: Chunk, kind: str, payload: dict[str, Any]) -> None:
        index = payload.get("index")
        if kind == "content_block_delta" and isinstance(index, int):
            self._delta(merged, index, payload.get("delta") or {})
        elif kind == "content_block_start" and isinstance(index, int):
            self._start(merged, index, payload.get("content_block") or {})
        elif kind == "content_block_stop" and isinstance(index, int):
            self._close(merged, index)
        elif kind == "message_start":
            self._take_usage((payload.get("message") or {}).get("usage") or {})
        elif kind == "message_delta":
            stop_reason = (payload.get("delta") or {}).get("stop_reason")
            if stop_reason:
                merged.finish_reason = STOP_REASONS.get(stop_reason, stop_reason)
            self._take_usage(payload.get("usage") or {})
            merged.usage = self.usage()
            self.reported_usage = True
        elif kind == "error":
            raise from_error_event(self.provider, payload)
        # ping and event types added later carry nothing we use.

    def _start(self, merged: Chunk, index: int, block: dict[str, Any]) -> None:
        kind = block.get("type")
        # Blocks normally open empty, but what they open with is part of the answer.
        if kind == "text":
            merged.content += _text(block.get("text"))
        elif kind == "thinking":
            thinking = _Thinking(signature=block.get("signature") or None)
            first = _text(block.get("thinking"))
            if first:
                merged.reasoning += first
                thinking.text.append(first)
            self._open[index] = thinking
        elif kind == "redacted_thinking":
            data = block.get("data")
            if isinstance(data, str):
                merged.reasoning_details.append(self._detail("reasoning.encrypted", data=data))
        elif kind == "tool_use":
            call = _ToolUse(self._tool_calls, _object(block.get("input")))
            self._tool_calls += 1
            self._open[index] = call
            merged.tool_calls.append(
                ToolCallDelta(
                    index=call.index,
                    id=str(block.get("id") or f"toolu_{uuid.uuid4().hex[:24]}"),
                    name=str(block.get("name") or ""),
                    arguments="",
                )
            )
        # Server-tool blocks (server_tool_use, web_search_tool_result...) are not tool calls
        # the client can answer.

    def _delta(self, merged: Chunk, index: int, delta: dict[str, Any]) -> None:
        kind = delta.get("type")
        block = self._open.get(index)
        if kind == "text_delta":
            merged.content += _text(delta.get("text"))
        elif kind == "thinking_delta":
            piece = _text(delta.get("thinking"))
            merged.reasoning += piece
            if isinstance(block, _Thinking):
                block.text.append(piece)
        elif kind == "signature_delta" and isinstance(block, _Thinking):
            block.signature = _text(delta.get("signature")) or block.signature
        elif kind == "input_json_delta" and isinstance(block, _ToolUse):
            piece = _text(delta.get("partial_json"))
            if piece:  # the first is often "": the call's start already said arguments ""
                block.streamed = True
                merged.tool_calls.append(ToolCallDelta(index=block.index, arguments=piece))
        # citations_delta: citations have no place in a chat completion.

    def _close(self, merged: Chunk, index: int) -> None:
        block = self._open.pop(index, None)
        if isinstance(block, _Thinking):
            merged.reasoning_details.append(
                self._detail("reasoning.text", text="".join(block.text), signature=block.signature)
            )
        elif isinstance(block, _ToolUse) and not block.streamed and block.start_input:
            # A relay that sends the whole input in the start and no deltas (the SDKs keep it).
            arguments = orjson.dumps(block.start_input).decode()
            merged.tool_calls.append(ToolCallDelta(index=block.index, arguments=arguments))

    def _detail(self, kind: str, **fields: str | None) -> ReasoningDetail:
        detail = ReasoningDetail(type=kind, format=THINKING_FORMAT, index=self._details, **fields)
        self._details += 1
        return detail

    def _take_usage(self, raw: dict[str, Any]) -> None:
        """Every count is a running total: a later value replaces an earlier one (a zero or
        missing value is a placeholder, not a total that went down)."""
        self.input_tokens = int(raw.get("input_tokens") or self.input_tokens)
        self.cache_read = int(raw.get("cache_read_input_tokens") or self.cache_read)
        self.cache_creation = int(raw.get("cache_creation_input_tokens") or self.cache_creation)
        split = raw.get("cache_creation")
        if isinstance(split, dict):
            hour = int(split.get("ephemeral_1h_input_tokens") or 0)
            self.cache_creation_1h = hour or self.cache_creation_1h
            # The split is the newer field: trust it where a relay left the total out.
            five = int(split.get("ephemeral_5m_input_tokens") or 0)
            self.cache_creation = max(self.cache_creation, five + self.cache_creation_1h)
        self.output_tokens = int(raw.get("output_tokens") or self.output_tokens)

    def usage(self) -> Usage:
        # input_tokens excludes the cached part: the prompt is all three (provider-wire.md 5.2).
        prompt = self.input_tokens + self.cache_read + self.cache_creation
        hour = min(self.cache_creation_1h, self.cache_creation)
        return Usage(
            prompt_tokens=prompt,
            completion_tokens=self.output_tokens,
            total_tokens=prompt + self.output_tokens,
            cached_tokens=self.cache_read,
            cache_write_5m_tokens=self.cache_creation - hour,
            cache_write_1h_tokens=hour,
        )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
