"""The Anthropic stream parser on captured streams (provider-wire §5.3, wire-tools §4.3-4.4): tool
calls numbered over tool blocks only, argument fragments, signed thinking as whole reasoning
details, stop reasons and usage; assembled into the answer as the worker does."""

# ruff: noqa: E501  (captured wire bytes are kept verbatim, one event per line)

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.content import AssistantMessage, ReasoningDetail
from shared.events import ToolCallDelta
from shared.usage import Usage
from workers.providers.anthropic import MessagesParser
from workers.providers.sse import SSEDecoder
from workers.transcript import Transcript

# anthropic-sdk-python tests/lib/streaming/fixtures/tool_use_response.txt (provider-wire §5.3),
# its partial_json fragments as captured (the first one empty).
TOOL_USE = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_019Q1hrJbZG26Fb9BQhrkHEr","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":377,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1,"service_tier":"standard"}}}\n\n'
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
    b'event: ping\ndata: {"type": "ping"}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I"}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\'ll check the current weather in Paris for you."}}\n\n'
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
    b'event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01NRLabsLyVHZPKxbKvkfSMn","name":"get_weather","input":{},"caller":{"type":"direct"}}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"locati"}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"on\\": \\"Paris\\"}"}}\n\n'
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}\n\n'
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":65}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)

# After anthropic-sdk-python tests/lib/streaming/fixtures/incomplete_partial_json_response.txt
# (wire-tools §4.3): the tool block's start and the stream's end as quoted there (the whitespace
# inside the JSON included), the events between written in the same form. The tool block never
# gets its content_block_stop.
CUT_BY_MAX_TOKENS = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-3-7-sonnet-20250219","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":450,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}    }\n\n'
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}           }\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I\'ll create the file."}    }\n\n'
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0       }\n\n'
    b'event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01EKqbqmZrGRXy18eN7m9kvY","name":"make_file","input":{}}     }\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}        }\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"filename\\": \\"mai"}     }\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"n.py\\", \\"lines_of_text\\": [\\"im"}         }\n\n'
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":124}    }\n\n'
    b'event: message_stop\ndata: {"type":"message_stop" }\n\n'
)

# The documented extended-thinking stream (provider-wire §5.3), spaces in the JSON as there.
THINKING = (
    b'event: message_start\ndata: {"type": "message_start", "message": {"id": "msg_01", "usage": {"input_tokens": 25, "output_tokens": 1}}}\n\n'
    b'event: content_block_start\ndata: {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}\n\n'
    b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Let me solve this step by step:\\n\\n1. First break down 27 * 453"}}\n\n'
    b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds..."}}\n\n'
    b'event: content_block_stop\ndata: {"type": "content_block_stop", "index": 0}\n\n'
    b'event: content_block_start\ndata: {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}\n\n'
    b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "12231"}}\n\n'
    b'event: content_block_stop\ndata: {"type": "content_block_stop", "index": 1}\n\n'
    b'event: message_delta\ndata: {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 15}}\n\n'
    b'event: message_stop\ndata: {"type": "message_stop"}\n\n'
)


def events(*objs: dict[str, Any]) -> bytes:
    return b"".join(
        f"event: {o['type']}\ndata: {json.dumps(o, separators=(',', ':'))}\n\n".encode()
        for o in objs
    )


def start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def delta(index: int, **fields: str) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": fields}


def stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def ending(stop_reason: str = "tool_use", **usage: Any) -> tuple[dict[str, Any], ...]:
    return (
        {"type": "message_delta", "delta": {"stop_reason": stop_reason}, "usage": usage},
        {"type": "message_stop"},
    )


class Streamed:
    """Every chunk of one stream, fed in reads of ``split`` bytes, and the answer assembled
    from them as the worker's transcript does."""

    def __init__(self, raw: bytes, split: int = 0) -> None:
        parser, decoder = MessagesParser("an"), SSEDecoder()
        self.transcript = Transcript()
        self.fragments: list[ToolCallDelta] = []
        self.done = False
        self.usage: Usage | None = None
        reads = [raw[i : i + split] for i in range(0, len(raw), split)] if split else [raw]
        for read in reads:
            chunk, self.done = parser.merge(decoder.feed(read))
            self.fragments += chunk.tool_calls
            self.transcript.add(chunk.content, chunk.reasoning, chunk.tool_calls)
            self.transcript.reasoning_details += chunk.reasoning_details
            self.transcript.finish_reason = chunk.finish_reason or self.transcript.finish_reason
            self.usage = chunk.usage or self.usage
            if self.done:
                break

    @property
    def answer(self) -> AssistantMessage:
        return self.transcript.message()

    @property
    def finish_reason(self) -> str | None:
        return self.transcript.finish_reason


@pytest.mark.parametrize("split", [0, 1, 17, 200])
def test_captured_tool_use_stream(split: int) -> None:
    streamed = Streamed(TOOL_USE, split)
    assert streamed.done and streamed.finish_reason == "tool_calls"
    # Block 1 is the first tool call: index 0; id and name on its first fragment only, and no
    # fragment for the empty first input_json_delta.
    first, *rest = streamed.fragments
    assert first == ToolCallDelta(
        index=0, id="toolu_01NRLabsLyVHZPKxbKvkfSMn", name="get_weather", arguments=""
    )
    assert all(f.index == 0 and f.id is None and f.name is None and f.arguments for f in rest)
    answer = streamed.answer
    assert answer.content == "I'll check the current weather in Paris for you."
    assert [(c.id, c.function.name) for c in answer.tool_calls] == [
        ("toolu_01NRLabsLyVHZPKxbKvkfSMn", "get_weather")
    ]
    assert json.loads(answer.tool_calls[0].function.arguments) == {"location": "Paris"}
    assert streamed.usage is not None
    assert (streamed.usage.prompt_tokens, streamed.usage.completion_tokens) == (377, 65)


@pytest.mark.parametrize("split", [0, 5])
def test_a_tool_block_cut_by_max_tokens_ends_with_the_stream(split: int) -> None:
    streamed = Streamed(CUT_BY_MAX_TOKENS, split)
    assert streamed.done and streamed.finish_reason == "length"
    (call,) = streamed.answer.tool_calls
    assert (call.id, call.function.name) == ("toolu_01EKqbqmZrGRXy18eN7m9kvY", "make_file")
    assert call.function.arguments == '{"filename": "main.py", "lines_of_text": ["im'
    assert streamed.transcript.result().finish_reason == "length"  # not taken for tool_calls


@pytest.mark.parametrize("split", [0, 3])
def test_thinking_streams_as_reasoning_and_ends_as_one_signed_detail(split: int) -> None:
    streamed = Streamed(THINKING, split)
    thought = "Let me solve this step by step:\n\n1. First break down 27 * 453"
    answer = streamed.answer
    assert (answer.reasoning, answer.content) == (thought, "12231")
    assert answer.reasoning_details == [
        ReasoningDetail(
            type="reasoning.text",
            text=thought,
            signature="EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds...",
            format="anthropic-claude-v1",
            index=0,
        )
    ]
    assert streamed.finish_reason == "stop"


def test_omitted_and_redacted_thinking_and_parallel_calls_around_text() -> None:
    raw = events(
        {"type": "message_start", "message": {"usage": {"input_tokens": 9, "output_tokens": 1}}},
        start(0, {"type": "thinking", "thinking": ""}),
        delta(0, type="signature_delta", signature="EqQBsig"),  # display omitted: no text
        stop(0),
        start(1, {"type": "redacted_thinking", "data": "EmwKAhgBEgyopaque"}),
        stop(1),
        start(2, {"type": "text", "text": ""}),
        delta(2, type="text_delta", text="Both."),
        stop(2),
        start(3, {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {}}),
        delta(3, type="input_json_delta", partial_json=""),
        delta(3, type="input_json_delta", partial_json='{"city": "Paris"}'),
        stop(3),
        start(4, {"type": "tool_use", "id": "toolu_b", "name": "get_time", "input": {}}),
        delta(4, type="input_json_delta", partial_json="{}"),
        stop(4),
        *ending(output_tokens=40),
    )
    streamed = Streamed(raw)
    answer = streamed.answer
    assert [d.model_dump(exclude_none=True) for d in answer.reasoning_details] == [
        {"type": "reasoning.text", "text": "", "signature": "EqQBsig",
         "format": "anthropic-claude-v1", "index": 0},
        {"type": "reasoning.encrypted", "data": "EmwKAhgBEgyopaque",
         "format": "anthropic-claude-v1", "index": 1},
    ]  # fmt: skip
    assert answer.reasoning is None and answer.content == "Both."
    assert [(c.id, c.function.name, c.function.arguments) for c in answer.tool_calls] == [
        ("toolu_a", "get_weather", '{"city": "Paris"}'),
        ("toolu_b", "get_time", "{}"),
    ]
    assert [f.index for f in streamed.fragments if f.id] == [0, 1]


def test_a_whole_input_in_the_start_with_no_deltas_is_the_arguments() -> None:
    raw = events(
        start(0, {"type": "tool_use", "id": "toolu_w", "name": "f", "input": {"x": [1, 2]}}),
        stop(0),
        *ending(),
    )
    assert Streamed(raw).answer.tool_calls[0].function.arguments == '{"x":[1,2]}'


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("some_future_reason", "some_future_reason"),
    ],
)
def test_stop_reasons(stop_reason: str, finish_reason: str) -> None:
    raw = events(start(0, {"type": "text", "text": "a"}), stop(0), *ending(stop_reason))
    assert Streamed(raw).finish_reason == finish_reason


def test_usage_splits_cache_writes_by_ttl() -> None:
    usage = {
        "input_tokens": 2048,
        "cache_read_input_tokens": 1800,
        "cache_creation_input_tokens": 248,
        "output_tokens": 1,
        "cache_creation": {"ephemeral_5m_input_tokens": 148, "ephemeral_1h_input_tokens": 100},
    }  # wire-tools §4.6
    raw = events(
        {"type": "message_start", "message": {"usage": usage}},
        start(0, {"type": "text", "text": ""}),
        delta(0, type="text_delta", text="ok"),
        *ending("end_turn", output_tokens=503),
    )  # fmt: skip
    assert Streamed(raw).usage == Usage(
        prompt_tokens=2048 + 1800 + 248,
        completion_tokens=503,
        total_tokens=2048 + 1800 + 248 + 503,
        cached_tokens=1800,
        cache_write_5m_tokens=148,
        cache_write_1h_tokens=100,
    )
