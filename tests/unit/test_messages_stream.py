"""The Messages stream rendered from typed events: blocks one at a time, numbered from 0, what can
stream streaming as it comes, and signed thinking first with its signature."""

from __future__ import annotations

import json
from typing import Any

from shared.anthropic_format import Frame, MessageStream
from shared.content import AssistantMessage, FunctionCall, ReasoningDetail, ToolCall
from shared.events import DeltaEvent, DoneEvent, ErrorEvent, EventBody, ToolCallDelta, numbered
from shared.usage import Usage


def delta(content: str = "", reasoning: str = "", *calls: ToolCallDelta) -> DeltaEvent:
    return DeltaEvent(content=content, reasoning=reasoning, tool_calls=calls)


def call(index: int, arguments: str = "", name: str | None = None) -> ToolCallDelta:
    first = name is not None
    return ToolCallDelta(
        index=index, id=f"call_{index}" if first else None, name=name, arguments=arguments
    )


def done(finish: str = "stop", **message: Any) -> DoneEvent:
    usage = Usage(prompt_tokens=100, completion_tokens=7, total_tokens=107, cached_tokens=40)
    return DoneEvent(
        finish_reason=finish,
        provider="p",
        model="m",
        usage=usage,
        cost=None,
        message=AssistantMessage(**message),
    )


def render(stream: MessageStream, *bodies: EventBody) -> list[list[Frame]]:
    """The frames each event added, in order."""
    return [stream.frames(numbered(body, seq)) for seq, body in enumerate(bodies, 1)]


def names(frames: list[Frame]) -> list[str]:
    return [name for name, _ in frames]


def blocks(frames: list[Frame]) -> list[dict[str, Any]]:
    """The content blocks as an SDK would accumulate them, checking they never interleave."""
    built: list[dict[str, Any]] = []
    arguments: dict[int, str] = {}
    open_index: int | None = None
    for name, data in frames:
        if name == "content_block_start":
            assert open_index is None and data["index"] == len(built)
            open_index = data["index"]
            built.append(dict(data["content_block"]))
        elif name == "content_block_delta":
            assert data["index"] == open_index
            block, piece = built[data["index"]], data["delta"]
            if piece["type"] == "text_delta":
                block["text"] += piece["text"]
            elif piece["type"] == "thinking_delta":
                block["thinking"] += piece["thinking"]
            elif piece["type"] == "signature_delta":
                block["signature"] = piece["signature"]
            else:
                arguments[data["index"]] = arguments.get(data["index"], "") + piece["partial_json"]
        elif name == "content_block_stop":
            assert data["index"] == open_index
            open_index = None
    assert open_index is None
    for index, text in arguments.items():
        built[index]["input"] = json.loads(text)
    return built


def test_text_streams_as_one_block_then_the_stop_reason_and_usage() -> None:
    stream = MessageStream(job_id="j1", model="fake", input_estimate=90)
    (start,) = stream.start()
    assert start[1]["message"]["id"] == "msg_j1"
    assert start[1]["message"]["usage"]["input_tokens"] == 90
    first, second, end = render(stream, delta("Hel"), delta("lo"), done())
    assert names(first) == ["content_block_start", "content_block_delta"]
    assert names(second) == ["content_block_delta"]
    assert names(end) == ["content_block_stop", "message_delta", "message_stop"]
    assert blocks(first + second + end) == [{"type": "text", "text": "Hello"}]
    message_delta = end[-2][1]
    assert message_delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert message_delta["usage"]["input_tokens"] == 60  # the cached 40 are counted apart
    assert message_delta["usage"]["cache_read_input_tokens"] == 40
    assert message_delta["usage"]["output_tokens"] == 7


def test_sequential_calls_stream_live_each_in_its_block() -> None:
    stream = MessageStream(job_id="j", model="m")
    reads = render(
        stream,
        delta("Let me look."),
        delta("", "", call(0, "", "get_weather")),
        delta("", "", call(0, '{"city": ')),
        delta("", "", call(0, '"Paris"}'), call(1, "", "get_stock_price")),
        delta("", "", call(1, '{"ticker": "X"}')),
        done("tool_calls"),
    )
    # The second call's start closes the first (its arguments are whole JSON): nothing waits.
    assert names(reads[3]) == [
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
    ]
    assert names(reads[4]) == ["content_block_delta"]
    frames = [frame for read in reads for frame in read]
    assert blocks(frames) == [
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "call_0", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_1", "name": "get_stock_price", "input": {"ticker": "X"}},
    ]
    assert frames[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_interleaved_calls_are_held_and_sent_whole() -> None:
    stream = MessageStream(job_id="j", model="m")
    reads = render(
        stream,
        delta("", "", call(0, '{"a"', "f"), call(1, '{"b"', "g")),
        delta("", "", call(0, ": 1}"), call(1, ": 2}")),
        done("tool_calls"),
    )
    assert names(reads[1]) == ["content_block_delta"]  # the first call goes on; the other waits
    frames = [frame for read in reads for frame in read]
    assert [(b["name"], b["input"]) for b in blocks(frames)] == [("f", {"a": 1}), ("g", {"b": 2})]


def test_a_call_without_arguments_still_sends_an_object() -> None:
    stream = MessageStream(job_id="j", model="m")
    frames = [f for read in render(stream, delta("", "", call(0, "", "now")), done()) for f in read]
    assert blocks(frames)[0]["input"] == {}
    assert any(f[1].get("delta", {}).get("partial_json") == "{}" for f in frames)


def test_unsigned_reasoning_streams_as_a_thinking_block_before_the_text() -> None:
    stream = MessageStream(job_id="j", model="m")
    reads = render(stream, delta("", "r1 "), delta("", "r2"), delta("t1"), done(reasoning="r1 r2"))
    assert names(reads[0]) == ["content_block_start", "content_block_delta"]
    assert names(reads[2])[:2] == ["content_block_stop", "content_block_start"]
    frames = [frame for read in reads for frame in read]
    assert blocks(frames) == [
        {"type": "thinking", "thinking": "r1 r2", "signature": ""},
        {"type": "text", "text": "t1"},
    ]


def test_signed_thinking_streams_first_and_closes_with_its_signature_at_the_end() -> None:
    stream = MessageStream(job_id="j", model="m", signed_thinking=True)
    details = [
        ReasoningDetail(
            type="reasoning.text", text="hmm", signature="SIG", format="anthropic-claude-v1"
        ),
        ReasoningDetail(type="reasoning.encrypted", data="OPAQUE", format="anthropic-claude-v1"),
    ]
    weather = ToolCall(id="call_0", function=FunctionCall(name="f", arguments="{}"))
    reads = render(
        stream,
        delta("", "hm"),
        delta("Sure.", "m"),
        delta("", "", call(0, "{}", "f")),
        done(
            "tool_calls",
            content="Sure.",
            reasoning="hmm",
            reasoning_details=details,
            tool_calls=[weather],
        ),
    )
    assert names(reads[0]) == ["content_block_start", "content_block_delta"]
    assert names(reads[1]) == ["content_block_delta"]  # the thinking goes on; the text waits
    assert reads[2] == []
    assert blocks([f for read in reads for f in read]) == [
        {"type": "thinking", "thinking": "hmm", "signature": "SIG"},
        {"type": "redacted_thinking", "data": "OPAQUE"},
        {"type": "text", "text": "Sure."},
        {"type": "tool_use", "id": "call_0", "name": "f", "input": {}},
    ]


def test_omitted_signed_thinking_comes_first_with_the_held_answer() -> None:
    stream = MessageStream(job_id="j", model="m", signed_thinking=True)
    details = [ReasoningDetail(type="reasoning.text", text="", signature="SIG")]
    reads = render(
        stream, delta("t1 "), delta("t2"), done(content="t1 t2", reasoning_details=details)
    )
    assert reads[0] == [] and reads[1] == []
    assert blocks(reads[2]) == [
        {"type": "thinking", "thinking": "", "signature": "SIG"},
        {"type": "text", "text": "t1 t2"},
    ]


def test_a_failure_is_an_error_event_with_anthropic_s_type() -> None:
    stream = MessageStream(job_id="j", model="m")
    failed = ErrorEvent(code="provider_unavailable", message="down", retryable=True)
    (frames,) = render(stream, failed)
    assert frames == [
        (
            "error",
            {
                "type": "error",
                "error": {
                    "type": "overloaded_error",
                    "message": "down",
                    "code": "provider_unavailable",
                },
            },
        )
    ]
