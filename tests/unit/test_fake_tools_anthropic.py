"""Tool use and extended thinking out of the fake's Anthropic Messages endpoint, checked byte by
byte and with the official anthropic SDK (whose MessageStream rebuilds the blocks)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from anthropic.types import MessageParam, ToolParam

from tests.fakes.provider import FakeProvider
from tests.fakes.signing import verify_redacted, verify_thinking
from tests.unit.fake_support import (
    ANTHROPIC_PATH,
    KEY,
    anthropic_body,
    anthropic_events,
    anthropic_tools,
    directive,
    post,
)

THINKING: dict[str, Any] = {"type": "enabled", "budget_tokens": 1024}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider(require_key=KEY) as provider:
        yield provider


def client(fake: FakeProvider) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fake.anthropic_base_url, api_key=KEY, max_retries=0)


def tools_param() -> list[ToolParam]:
    return anthropic_tools()  # type: ignore[return-value]  # plain dicts of the same shape


def stream_body(text: str, **extra: Any) -> dict[str, Any]:
    return anthropic_body(text, stream=True, tools=anthropic_tools()) | extra


def test_tool_use_stream_bytes(fake: FakeProvider) -> None:
    """Text first (so the tool is block 1), an empty first input_json_delta, stop_reason
    tool_use, and block indices 0, 1, 2 without gaps."""
    text = directive(tool_calls="all", text_before_tools=2, chunk_chars=7)
    events = anthropic_events(post(fake, ANTHROPIC_PATH, stream_body(text)).content)
    starts = [d for name, d in events if name == "content_block_start"]
    assert [s["index"] for s in starts] == [0, 1, 2]
    assert [s["content_block"]["type"] for s in starts] == ["text", "tool_use", "tool_use"]
    tool = starts[1]["content_block"]
    assert tool["input"] == {} and tool["name"] == "get_weather"
    assert re.fullmatch(r"toolu_01[A-Za-z0-9]{22}", tool["id"])
    json_deltas = [
        d["delta"]["partial_json"]
        for name, d in events
        if name == "content_block_delta" and d["index"] == 1
    ]
    assert json_deltas[0] == ""
    assert json.loads("".join(json_deltas)) == {"city": "city", "units": "c", "days": 1}
    assert [d["index"] for name, d in events if name == "content_block_stop"] == [0, 1, 2]
    message_delta = next(d for name, d in events if name == "message_delta")
    assert message_delta["delta"]["stop_reason"] == "tool_use"
    assert message_delta["usage"]["output_tokens"] > 0
    assert events[-1][0] == "message_stop"


def test_sdk_stream_and_non_stream(fake: FakeProvider) -> None:
    calls = [{"name": "get_weather", "arguments": {"city": "Paris", "units": "c"}}]
    messages: list[MessageParam] = [{"role": "user", "content": directive(tool_calls=calls)}]
    api = client(fake)
    with api.messages.stream(
        model="claude-sonnet-4-5", max_tokens=256, messages=messages, tools=tools_param()
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    blocks = [b for b in final.content if b.type == "tool_use"]
    assert [(b.name, b.input) for b in blocks] == [("get_weather", {"city": "Paris", "units": "c"})]
    whole = api.messages.create(
        model="claude-sonnet-4-5", max_tokens=256, messages=messages, tools=tools_param()
    )
    assert [b.type for b in whole.content] == ["tool_use"]
    assert whole.stop_reason == "tool_use"


def test_max_tokens_inside_tool_input(fake: FakeProvider) -> None:
    """Cut by max_tokens inside the tool's input: no content_block_stop for that block."""
    text = directive(tool_calls="auto", finish_reason="length")
    events = anthropic_events(post(fake, ANTHROPIC_PATH, stream_body(text)).content)
    assert [name for name, _ in events if name == "content_block_stop"] == []
    assert (
        next(d for n, d in events if n == "message_delta")["delta"]["stop_reason"] == "max_tokens"
    )
    assert events[-1][0] == "message_stop"


def test_thinking_tool_loop_round_trip(fake: FakeProvider) -> None:
    """Signed thinking comes back unchanged on the next turn and is accepted; the turn after
    the tool result answers with text."""
    api = client(fake)
    messages: list[Any] = [{"role": "user", "content": directive(tool_calls="auto", tokens=2)}]
    with api.messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=2048,
        messages=messages,
        tools=tools_param(),
        thinking={"type": "enabled", "budget_tokens": 1024},
    ) as stream:
        first = stream.get_final_message()
    kinds = [b.type for b in first.content]
    assert kinds == ["thinking", "tool_use"]
    thinking = first.content[0]
    assert thinking.type == "thinking"
    assert verify_thinking(thinking.signature, thinking.thinking) == "ok"
    messages.append({"role": "assistant", "content": [b.model_dump() for b in first.content]})
    tool_use = first.content[1]
    assert tool_use.type == "tool_use"
    messages.append(
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "sunny"}],
        }
    )
    second = api.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=2048,
        messages=messages,
        tools=tools_param(),
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    assert [b.type for b in second.content] == ["thinking", "text"]
    assert second.stop_reason == "end_turn"


def test_signature_delta_and_omitted_display(fake: FakeProvider) -> None:
    body = stream_body(directive(tool_calls="auto"), thinking=THINKING | {"display": "omitted"})
    events = anthropic_events(post(fake, ANTHROPIC_PATH, body).content)
    kinds = [
        d["delta"]["type"] for n, d in events if n == "content_block_delta" and d["index"] == 0
    ]
    assert kinds == ["signature_delta"]  # no thinking text at all, only the signature
    start = next(d for n, d in events if n == "content_block_start")
    assert start["content_block"] == {"type": "thinking", "thinking": ""}
    signature = next(
        d["delta"]["signature"]
        for n, d in events
        if d.get("index") == 0 and n == "content_block_delta"
    )
    assert verify_thinking(signature, "") == "ok"


def test_redacted_thinking(fake: FakeProvider) -> None:
    text = directive(tool_calls="auto", redacted_thinking=True)
    raw = post(fake, ANTHROPIC_PATH, stream_body(text, thinking=THINKING)).content
    events = anthropic_events(raw)
    starts = [d["content_block"] for n, d in events if n == "content_block_start"]
    assert [s["type"] for s in starts] == ["thinking", "redacted_thinking", "tool_use"]
    assert verify_redacted(starts[1]["data"])
    assert not [d for n, d in events if n == "content_block_delta" and d["index"] == 1]
    whole = post(fake, ANTHROPIC_PATH, stream_body(text, thinking=THINKING, stream=False)).json()
    assert [b["type"] for b in whole["content"]] == ["thinking", "redacted_thinking", "tool_use"]


def test_adaptive_thinking_and_tool_choice(fake: FakeProvider) -> None:
    body = stream_body(directive(tool_calls="auto"), thinking={"type": "adaptive"}, stream=False)
    assert post(fake, ANTHROPIC_PATH, body).json()["content"][0]["type"] == "thinking"
    forced = body | {"tool_choice": {"type": "tool", "name": "get_time"}}
    refused = post(fake, ANTHROPIC_PATH, forced)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == (
        "Thinking may not be enabled when tool_choice forces tool use."
    )
    plain = post(fake, ANTHROPIC_PATH, forced | {"thinking": {"type": "disabled"}}).json()
    assert [b["name"] for b in plain["content"] if b["type"] == "tool_use"] == ["get_time"]
    single = stream_body(
        directive(tool_calls="all"),
        stream=False,
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
    )
    assert len(post(fake, ANTHROPIC_PATH, single).json()["content"]) == 1
    none = stream_body(
        directive(tool_calls="all", tokens=1), stream=False, tool_choice={"type": "none"}
    )
    assert post(fake, ANTHROPIC_PATH, none).json()["content"] == [{"type": "text", "text": "t1"}]


def test_tool_forcing_for_structured_output(fake: FakeProvider) -> None:
    """The older structured-output technique (§4.7): one tool whose input_schema is the schema,
    forced with tool_choice; the gateway unwraps tool_use.input."""
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "temp": {"type": "number"}},
        "required": ["city", "temp"],
    }
    body = anthropic_body(
        "weather as json",
        tools=[{"name": "answer", "input_schema": schema}],
        tool_choice={"type": "tool", "name": "answer"},
    )
    content = post(fake, ANTHROPIC_PATH, body).json()["content"]
    assert content[0]["type"] == "tool_use"
    assert content[0]["input"] == {"city": "city", "temp": 1.5}
