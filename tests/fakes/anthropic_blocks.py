"""Anthropic content blocks of an answer, streamed (typed SSE events, reference PW §5.3) and
whole: thinking (+ signature), redacted_thinking, text, tool_use.

Block indices count every block, so a tool after text is at index 1 (wire-tools §4.3). A tool
block's input streams as `input_json_delta` fragments after an empty first one; an answer cut by
`max_tokens` inside a tool's input never closes that block (no `content_block_stop`).
"""

from __future__ import annotations

from typing import Any

import orjson

from .engine import Frame
from .signing import redacted_data, sign_thinking
from .wire import Generation

PING = b'event: ping\ndata: {"type": "ping"}\n\n'  # the one event with a space in its JSON
CALLER = {"type": "direct"}  # 2026 tool_use blocks say who called the tool


def event(name: str, obj: object) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(obj) + b"\n\n"


def _start(index: int, block: dict[str, Any]) -> bytes:
    return event(
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": block},
    )


def _delta(index: int, delta: dict[str, Any]) -> bytes:
    return event(
        "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
    )


def _stop(index: int) -> bytes:
    return event("content_block_stop", {"type": "content_block_stop", "index": index})


def answer_blocks(gen: Generation) -> list[dict[str, Any]]:
    """The content of the answer (signatures and redacted data freshly issued)."""
    blocks: list[dict[str, Any]] = []
    if gen.reasoning:
        shown = gen.reasoning_text if gen.thinking_shown else ""
        blocks.append({"type": "thinking", "thinking": shown, "signature": sign_thinking(shown)})
    if gen.scenario.redacted_thinking:
        blocks.append({"type": "redacted_thinking", "data": redacted_data()})
    if gen.content or not gen.tool_calls:
        blocks.append({"type": "text", "text": gen.text})
    for call in gen.tool_calls:
        blocks.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": call.input}
            | {"caller": CALLER}
        )
    return blocks


def block_frames(gen: Generation, blocks: list[dict[str, Any]]) -> list[Frame]:
    """content_block_start / _delta / _stop frames for `blocks`, with one ping right after the
    first start, where the API sends it."""
    frames: list[Frame] = []
    calls = iter(gen.tool_calls)
    truncated = gen.finish_reason == "length" and bool(gen.tool_calls)
    for index, block in enumerate(blocks):
        kind = block["type"]
        last = index == len(blocks) - 1
        deltas: list[Frame] = []
        if kind == "thinking":
            start = Frame("meta", _start(index, {"type": "thinking", "thinking": ""}))
            if gen.thinking_shown:
                deltas = [
                    Frame("reasoning", _delta(index, {"type": "thinking_delta", "thinking": r}))
                    for r in gen.reasoning
                ]
            signature = {"type": "signature_delta", "signature": block["signature"]}
            deltas.append(Frame("meta", _delta(index, signature)))
        elif kind == "redacted_thinking":  # arrives whole in its start event, no deltas
            start = Frame("meta", _start(index, block))
        elif kind == "text":
            start = Frame("meta", _start(index, {"type": "text", "text": ""}))
            deltas = [
                Frame("content", _delta(index, {"type": "text_delta", "text": t}))
                for t in gen.content
            ]
        else:
            call = next(calls)
            head = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
            start = Frame("tool", _start(index, head | {"caller": CALLER}))
            deltas = [  # the first input_json_delta is empty
                Frame("tool", _delta(index, {"type": "input_json_delta", "partial_json": p}))
                for p in ("", *call.fragments)
            ]
        frames.append(start)
        if index == 0:
            frames.append(Frame("meta", PING))
        frames += deltas
        if not (last and truncated):
            frames.append(Frame("finish" if last else "meta", _stop(index)))
    return frames
