"""Tools, thinking and images through the Messages API and the official ``anthropic`` SDK: an
agent loop over two turns, streamed and not, interleaved calls rebuilt into whole blocks,
thinking blocks sent back unchanged, images and PDFs reaching the provider.

The ``claude`` cases need the Anthropic adapter that carries tools, thinking and content blocks
(branch ``anthropic``); the ``fake`` ones run on the OpenAI-compatible adapter."""

from __future__ import annotations

import base64
import json
from typing import cast

import anthropic
import httpx
import pytest
from anthropic import Anthropic
from anthropic.types import Message, MessageParam, ToolUseBlock

from tests.conftest import Stack
from tests.helpers import directive, new_tag
from tests.messages_helpers import (
    HEADERS,
    MESSAGES_URL,
    PNG,
    STOCK,
    WEATHER,
    ask,
    check_block_order,
    claude,
    sse_events,
    user,
)

__all__ = ["claude"]  # fixtures these tests use

PDF = base64.b64encode(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n").decode()


def tool_uses(message: Message) -> list[ToolUseBlock]:
    return [block for block in message.content if isinstance(block, ToolUseBlock)]


def answered(message: Message, results: dict[str, str]) -> list[MessageParam]:
    """The assistant turn as received, then a user turn answering each of its calls."""
    calls = tool_uses(message)
    blocks = [block.model_dump(exclude_none=True) for block in message.content]
    return [
        cast("MessageParam", {"role": "assistant", "content": blocks}),
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call.id, "content": results[call.name]}
                for call in calls
            ],
        },
    ]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("model", ["fake", "claude"])
def test_an_agent_loop_over_two_turns(
    claude: Anthropic, stack: Stack, model: str, stream: bool
) -> None:
    tag = new_tag()
    prompt = user(f"Weather in Paris? {directive(tool_calls='auto', tokens=2, tag=tag)}")
    first = ask(claude, stream, model=model, messages=prompt, tools=[WEATHER])
    assert first.stop_reason == "tool_use"
    (call,) = tool_uses(first)
    assert call.name == "get_weather"
    assert isinstance(call.input, dict) and set(call.input) >= {"city", "units"}

    final = ask(
        claude,
        stream,
        model=model,
        messages=[*prompt, *answered(first, {"get_weather": "18C and sunny"})],
        tools=[WEATHER],
    )
    assert final.stop_reason == "end_turn"
    assert final.content[-1].type == "text" and final.content[-1].text == "t1 t2"
    # The provider got the call back and its result, in its own dialect.
    sent = json.dumps(stack.fake.requests(tag)[-1]["body"]["messages"])
    assert "18C and sunny" in sent and call.id in sent


@pytest.mark.parametrize("layout", ["sequential", "interleaved", "args_at_end"])
def test_parallel_calls_stream_as_whole_blocks_one_at_a_time(
    client: httpx.Client, layout: str
) -> None:
    prompt = directive(tool_calls="all", tool_stream=layout, text_before_tools=2, chunk_chars=4)
    body = {
        "model": "fake",
        "max_tokens": 300,
        "stream": True,
        "tools": [WEATHER, STOCK],
        "messages": user(prompt),
    }
    events = sse_events(client.post(MESSAGES_URL, json=body, headers=HEADERS))
    check_block_order(events)
    starts = [data["content_block"] for name, data in events if name == "content_block_start"]
    assert [block["type"] for block in starts] == ["text", "tool_use", "tool_use"]
    assert all(block["input"] == {} for block in starts[1:])
    inputs: dict[int, str] = {}
    for name, data in events:
        if name == "content_block_delta" and data["delta"]["type"] == "input_json_delta":
            inputs[data["index"]] = inputs.get(data["index"], "") + data["delta"]["partial_json"]
    # Only input_json_delta carries the arguments (Claude Code reads nothing else).
    assert set(json.loads(inputs[1])) == {"city", "units"}
    assert set(json.loads(inputs[2])) == {"ticker"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_the_sdk_accumulates_interleaved_calls(claude: Anthropic) -> None:
    prompt = user(directive(tool_calls="all", tool_stream="interleaved", chunk_chars=3))
    final = ask(claude, True, model="fake", messages=prompt, tools=[WEATHER, STOCK])
    assert [call.name for call in tool_uses(final)] == ["get_weather", "get_stock_price"]
    assert set(tool_uses(final)[1].input) == {"ticker"}


def test_tool_choice_any_and_no_parallel_calls_reach_the_provider(
    claude: Anthropic, stack: Stack
) -> None:
    tag = new_tag()
    message = claude.messages.create(
        model="fake",
        max_tokens=100,
        messages=user(directive(tag=tag)),
        tools=[WEATHER, STOCK],
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
    )
    assert len(tool_uses(message)) == 1
    body = stack.fake.wait_for(tag)["body"]
    assert (body["tool_choice"], body["parallel_tool_calls"]) == ("required", False)
    assert body["tools"][0]["function"]["parameters"] == WEATHER["input_schema"]


@pytest.mark.parametrize("stream", [False, True])
def test_reasoning_comes_as_a_thinking_block(claude: Anthropic, stream: bool) -> None:
    prompt = user(directive(tokens=2, reasoning_tokens=3))
    message = ask(claude, stream, model="fake", messages=prompt)
    thinking = [block for block in message.content if block.type == "thinking"]
    assert len(thinking) == 1 and thinking[0].thinking == "r1 r2 r3"
    text = [block for block in message.content if block.type == "text"]
    assert text[0].text == "t1 t2"


def test_thinking_is_asked_of_a_model_that_reasons_or_refused(claude: Anthropic) -> None:
    # "fake" does not reason: enabled thinking is refused; adaptive is a preference, dropped.
    with pytest.raises(anthropic.BadRequestError) as refused:
        claude.messages.create(
            model="fake",
            max_tokens=3000,
            messages=user("think"),
            thinking={"type": "enabled", "budget_tokens": 2048},
        )
    assert refused.value.body["error"]["code"] == "capability_unsupported"  # type: ignore[index]
    adaptive = claude.messages.create(
        model="fake",
        max_tokens=100,
        messages=user(directive(tokens=1)),
        thinking={"type": "adaptive"},
        output_config={"effort": "high"},
    )
    assert adaptive.content[-1].type == "text" and adaptive.content[-1].text == "t1"


@pytest.mark.parametrize("stream", [False, True])
def test_signed_thinking_goes_back_unchanged_in_a_tool_loop(
    claude: Anthropic, stream: bool
) -> None:
    """The fake Anthropic refuses a changed or missing signature, as the API does."""
    prompt = user(directive(tool_calls="auto", tokens=2, redacted_thinking=True))
    first = ask(claude, stream, model="claude-thinking", messages=prompt, tools=[WEATHER])
    thinking = [block for block in first.content if block.type == "thinking"]
    assert thinking and all(block.signature for block in thinking)
    assert any(block.type == "redacted_thinking" for block in first.content)
    final = ask(
        claude,
        stream,
        model="claude-thinking",
        messages=[*prompt, *answered(first, {"get_weather": "18C"})],
        tools=[WEATHER],
    )
    assert final.stop_reason == "end_turn"


@pytest.mark.parametrize("model", ["fake", "claude"])
def test_images_and_documents_reach_the_provider(
    claude: Anthropic, stack: Stack, model: str
) -> None:
    tag = new_tag()
    message = claude.messages.create(
        model=model,
        max_tokens=50,
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                    },
                    {
                        "type": "image",
                        "source": {"type": "url", "url": "https://example.com/a.png"},
                    },
                    {
                        "type": "document",
                        "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
                        "title": "doc.pdf",
                    },
                    {"type": "text", "text": f"What is this? {directive(tokens=2, tag=tag)}"},
                ],
            }
        ],
    )
    assert message.content[0].type == "text" and message.content[0].text == "t1 t2"
    parts = stack.fake.wait_for(tag)["parts"]
    assert [(p["type"], p["source"]) for p in parts][:2] in (
        [("image_url", "data"), ("image_url", "url")],  # OpenAI's parts
        [("image", "base64"), ("image", "url")],  # Anthropic's blocks
    )
    assert len(parts) == 3 and parts[0]["bytes"] == len(base64.b64decode(PNG))


def test_an_image_a_tool_returned_follows_its_result(claude: Anthropic, stack: Stack) -> None:
    tag = new_tag()
    prompt = user(f"Look. {directive(tool_calls='auto')}")
    first = claude.messages.create(model="fake", max_tokens=100, messages=prompt, tools=[WEATHER])
    (call,) = tool_uses(first)
    result: MessageParam = {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": call.id,
                "content": [
                    {"type": "text", "text": f"a chart {directive(tokens=2, tag=tag)}"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                    },
                ],
                "is_error": False,
            }
        ],
    }
    assistant = answered(first, {"get_weather": ""})[0]
    final = claude.messages.create(
        model="fake", max_tokens=100, messages=[*prompt, assistant, result], tools=[WEATHER]
    )
    assert final.content[-1].type == "text"
    sent = stack.fake.wait_for(tag)
    roles = [m["role"] for m in sent["body"]["messages"]]
    assert roles == ["user", "assistant", "tool", "user"]
    assert [p["path"] for p in sent["parts"]] == ["messages.3.content.1"]


def test_signed_thinking_streams_first_and_closes_with_its_signature(client: httpx.Client) -> None:
    body = {
        "model": "claude-thinking",
        "max_tokens": 2000,
        "stream": True,
        "messages": user(directive(tokens=3)),
    }
    events = sse_events(client.post(MESSAGES_URL, json=body, headers=HEADERS))
    check_block_order(events)
    starts = [
        data["content_block"]["type"] for name, data in events if name == "content_block_start"
    ]
    assert starts == ["thinking", "text"]
    signatures = [
        data["delta"]["signature"]
        for name, data in events
        if name == "content_block_delta" and data["delta"]["type"] == "signature_delta"
    ]
    assert len(signatures) == 1 and signatures[0]
