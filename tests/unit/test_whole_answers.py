"""Non-streamed answers of the Chat Completions family (a ``whole`` call): the request asks
for one answer, and the answer reads as the same chunk its stream would have merged into."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from shared.chat import ChatRequest
from shared.config import ProviderConfig
from shared.errors import ProviderUnavailable, StreamInterrupted
from shared.events import ToolCallDelta
from workers.providers.anthropic_stream import MessagesParser
from workers.providers.base import ProviderCall
from workers.providers.deepseek import DeepSeekProvider
from workers.providers.openai_compatible import ChatCompletionsParser, OpenAICompatibleProvider
from workers.providers.openrouter import OpenRouterParser


def whole_call(*, extra_body: dict[str, Any] | None = None, whole: bool = True) -> ProviderCall:
    request = ChatRequest.model_validate({"messages": [{"role": "user", "content": "hi"}]})
    return ProviderCall("m", request, extra_body or {}, whole=whole)


def provider(kind: str, **options: Any) -> OpenAICompatibleProvider:
    config = ProviderConfig(
        kind=kind, api_key=SecretStr("sk-x"), base_url="http://upstream.test", options=options
    )
    cls = DeepSeekProvider if kind == "deepseek" else OpenAICompatibleProvider
    return cls("up", config)


def test_a_whole_call_asks_for_one_answer_and_a_streamed_one_for_usage_in_the_stream() -> None:
    openai = provider("openai")
    # OpenAI refuses stream_options on a non-streamed request, even one a caller passed on.
    body = openai.request_body(whole_call(extra_body={"stream_options": {"x": 1}}))
    assert body["stream"] is False and "stream_options" not in body
    streamed = openai.request_body(whole_call(whole=False))
    assert streamed["stream"] is True
    assert streamed["stream_options"] == {"include_usage": True}
    quiet = provider("deepseek", include_usage=False).request_body(whole_call())
    assert quiet["stream"] is False and "stream_options" not in quiet


def test_an_answer_with_text_and_two_tool_calls_reads_as_its_merged_stream() -> None:
    answer = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Looking.",
                    "refusal": None,
                    "tool_calls": [  # a message's calls carry no index
                        {
                            "id": "call_a",
                            "type": "function",
                            "function": {"name": "search", "arguments": '{"q":"x"}'},
                        },
                        {
                            "id": "call_b",
                            "type": "function",
                            "function": {"name": "fetch", "arguments": '{"url":"y"}'},
                        },
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 30,
            "total_tokens": 42,
            "prompt_tokens_details": {"cached_tokens": 8},
        },
    }
    chunk = ChatCompletionsParser("up").whole(answer)
    assert chunk.content == "Looking."
    assert chunk.tool_calls == [
        ToolCallDelta(index=0, id="call_a", name="search", arguments='{"q":"x"}'),
        ToolCallDelta(index=1, id="call_b", name="fetch", arguments='{"url":"y"}'),
    ]
    assert chunk.finish_reason == "tool_calls"
    assert chunk.usage is not None
    assert (chunk.usage.total_tokens, chunk.usage.cached_tokens) == (42, 8)


def test_deepseek_reasoning_and_its_own_cache_field_in_a_whole_answer() -> None:
    answer = {
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi!", "reasoning_content": "Hmm."},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 6,
            "completion_tokens": 9,
            "total_tokens": 15,
            "prompt_cache_hit_tokens": 4,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }
    chunk = provider("deepseek").whole_chunk(answer)
    assert (chunk.content, chunk.reasoning) == ("Hi!", "Hmm.")
    assert chunk.usage is not None and chunk.usage.cached_tokens == 4


def test_openrouter_reasoning_details_come_whole_with_the_answer() -> None:
    detail = {"type": "reasoning.text", "text": "Think.", "signature": "sig", "index": 0}
    answer = {
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Done.",
                    "reasoning": "Think.",
                    "reasoning_details": [detail],
                },
                "finish_reason": "stop",
            }
        ],
    }
    chunk = OpenRouterParser("or").whole(answer)
    assert (chunk.content, chunk.reasoning) == ("Done.", "Think.")
    assert [d.model_dump(exclude_none=True) for d in chunk.reasoning_details] == [detail]


def test_an_error_in_a_200_answer_is_the_providers_failure() -> None:
    with pytest.raises(ProviderUnavailable, match="overloaded"):
        ChatCompletionsParser("up").whole({"error": {"message": "overloaded", "code": 503}})
    vllm = {"object": "error", "message": "CUDA out of memory", "code": 500}
    with pytest.raises(ProviderUnavailable, match="CUDA"):
        ChatCompletionsParser("up").whole(vllm)


def test_an_answer_without_choices_is_an_interrupted_answer() -> None:
    with pytest.raises(StreamInterrupted, match="up: the answer has no choices"):
        ChatCompletionsParser("up").whole({"id": "x", "choices": []})


def test_an_anthropic_message_reads_as_the_stream_of_its_whole_blocks() -> None:
    answer = {  # provider-wire.md 5.2's shape, with every block type the gateway reads
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Weather first.", "signature": "sig-1"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"c": "P"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "cache_creation_input_tokens": 4,
            "cache_read_input_tokens": 6,
            "output_tokens": 25,
        },
    }
    chunk = MessagesParser("claude").whole(answer)
    assert (chunk.reasoning, chunk.content) == ("Weather first.", "Checking.")
    assert [(d.type, d.text, d.signature, d.data) for d in chunk.reasoning_details] == [
        ("reasoning.text", "Weather first.", "sig-1", None),
        ("reasoning.encrypted", None, None, "opaque"),
    ]
    assert chunk.tool_calls == [
        ToolCallDelta(index=0, id="toolu_1", name="get_weather", arguments=""),
        ToolCallDelta(index=0, arguments='{"c":"P"}'),
    ]
    assert chunk.finish_reason == "tool_calls"
    assert chunk.usage is not None
    assert (chunk.usage.prompt_tokens, chunk.usage.completion_tokens) == (20, 25)
    assert (chunk.usage.cached_tokens, chunk.usage.cache_write_5m_tokens) == (6, 4)


def test_an_anthropic_error_or_empty_message_is_the_providers_failure() -> None:
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(ProviderUnavailable, match="Overloaded"):
        MessagesParser("claude").whole(overloaded)
    with pytest.raises(StreamInterrupted, match="claude: the answer has no content"):
        MessagesParser("claude").whole({"type": "message", "stop_reason": "end_turn"})
