"""The DeepSeek, OpenRouter and Anthropic adapters' parsing, request building and error
translation, on captured bytes from provider-wire.md (no network)."""

# ruff: noqa: E501  (captured wire bytes and error bodies are kept verbatim, one per line)

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from shared.chat import ChatRequest
from shared.config import ProviderConfig
from shared.errors import (
    ContextLengthExceeded,
    ProviderError,
    ProviderQuotaExhausted,
    ProviderRejected,
    ProviderUnavailable,
    StreamInterrupted,
)
from workers.providers.anthropic import AnthropicProvider, MessagesParser
from workers.providers.base import Chunk, ProviderCall
from workers.providers.deepseek import DeepSeekParser, DeepSeekProvider
from workers.providers.http_errors import from_status
from workers.providers.openrouter import OpenRouterParser, OpenRouterProvider
from workers.providers.registry import build_provider
from workers.providers.sse import SSEDecoder
from workers.providers.sse_chat import StreamParser

KEY = "sk-secret-never-shown"


def run(parser: StreamParser, raw: bytes, split: int = 0) -> tuple[Chunk, bool]:
    """Feed ``raw`` in reads of ``split`` bytes (0: one read); merge every chunk into one."""
    decoder = SSEDecoder()
    reads = [raw[i : i + split] for i in range(0, len(raw), split)] if split else [raw]
    total, done = Chunk(), False
    for read in reads:
        chunk, done = parser.merge(decoder.feed(read))
        total.content += chunk.content
        total.reasoning += chunk.reasoning
        total.finish_reason = chunk.finish_reason or total.finish_reason
        total.usage = chunk.usage or total.usage
        if done:
            break
    return total, done


def sse(*objs: Any, event: bool = False) -> bytes:
    out = b""
    for obj in objs:
        name = f"event: {obj['type']}\n".encode() if event else b""
        out += name + b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"
    return out


def config(kind: str, **extra: Any) -> ProviderConfig:
    return ProviderConfig(kind=kind, api_key=SecretStr(KEY), **extra)


def call(
    *messages: tuple[str, str], extra_body: dict[str, Any] | None = None, **opts: Any
) -> ProviderCall:
    request = ChatRequest.model_validate(
        {"messages": [{"role": r, "content": c} for r, c in messages], **opts}
    )
    return ProviderCall(model="m", request=request, extra_body=extra_body or {})


# --- DeepSeek ------------------------------------------------------------------------------------

DS_REASONER = (  # provider-wire.md 3.4, the captured reasoner stream (ids shortened)
    b'data: {"id":"f8","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":""},"logprobs":null,"finish_reason":null}]}\n\n'
    b": keep-alive\n\n"
    b'data: {"id":"f8","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"Hmm, hello."},"logprobs":null,"finish_reason":null}]}\n\n'
    b'data: {"id":"f8","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hello","reasoning_content":null},"logprobs":null,"finish_reason":null}]}\n\n'
    b'data: {"id":"f8","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"!","reasoning_content":null},"logprobs":null,"finish_reason":null}]}\n\n'
    b'data: {"id":"f8","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"","reasoning_content":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":6,"completion_tokens":169,"total_tokens":175,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":117},"prompt_cache_hit_tokens":1,"prompt_cache_miss_tokens":5}}\n\n'
    b"data: [DONE]\n\n"
)


@pytest.mark.parametrize("split", [0, 1, 7, 64])
def test_deepseek_reasoner_stream_whatever_the_reads(split: int) -> None:
    chunk, done = run(DeepSeekParser("ds"), DS_REASONER, split)
    assert done
    assert (chunk.content, chunk.reasoning) == ("Hello!", "Hmm, hello.")  # no "None" text
    assert chunk.finish_reason == "stop"
    assert chunk.usage is not None
    assert chunk.usage.model_dump() == {
        "prompt_tokens": 6,
        "completion_tokens": 169,
        "total_tokens": 175,
        "cached_tokens": 1,  # prompt_cache_hit_tokens, DeepSeek's own field, wins
        "cache_write_5m_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 117,
        "estimated": False,
    }


def test_deepseek_usage_null_on_chunks_with_include_usage() -> None:
    raw = (
        sse(
            {
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}],
                "usage": None,
            },
            {"choices": [{"index": 0, "delta": {"content": "hi"}}], "usage": None},
            {
                "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
            },
        )
        + b"data: [DONE]\n\n"
    )
    chunk, done = run(DeepSeekParser("ds"), raw)
    assert done and chunk.content == "hi"
    assert chunk.usage is not None and chunk.usage.total_tokens == 4


def test_deepseek_body_defaults_and_thinking_from_extra_body() -> None:
    provider = DeepSeekProvider("ds", config("deepseek"))
    assert str(provider._client.base_url) == "https://api.deepseek.com"
    body = provider.request_body(
        call(("user", "hi"), extra_body={"thinking": {"type": "enabled"}, "model": "nope"})
    )
    assert body["thinking"] == {"type": "enabled"}
    assert body["model"] == "m"  # the adapter's own fields win
    assert body["stream_options"] == {"include_usage": True}
    plain = DeepSeekProvider("ds", config("deepseek", options={"include_usage": False}))
    assert "stream_options" not in plain.request_body(call(("user", "hi")))


# --- OpenRouter ----------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["empty_choices", "empty_delta"])
def test_openrouter_usage_one_frame_after_finish(form: str) -> None:
    usage_choices: list[Any] = (
        [] if form == "empty_choices" else [{"index": 0, "delta": {"content": ""}}]
    )
    raw = (
        b": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\n"
        + sse(
            {"choices": [{"index": 0, "delta": {"content": "", "reasoning": "think"}}]},
            {"choices": [{"index": 0, "delta": {"content": "Hi", "reasoning": None}}]},
            {"choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "stop"}]},
            {
                "choices": usage_choices,
                "usage": {
                    "prompt_tokens": 7,
                    "completion_tokens": 2,
                    "total_tokens": 9,
                    "prompt_tokens_details": {"cached_tokens": 3},
                    "completion_tokens_details": {"reasoning_tokens": 1},
                },
            },
        )
        + b"data: [DONE]\n\n"
    )
    chunk, done = run(OpenRouterParser("or"), raw, split=5)
    assert done and (chunk.content, chunk.reasoning, chunk.finish_reason) == ("Hi", "think", "stop")
    assert chunk.usage is not None
    assert (chunk.usage.cached_tokens, chunk.usage.reasoning_tokens) == (3, 1)


@pytest.mark.parametrize(("code", "status"), [(429, 429), ("server_error", None), (None, None)])
def test_openrouter_error_chunk_is_unavailable(code: object, status: int | None) -> None:
    error: dict[str, Any] = {"message": "Provider disconnected unexpectedly"}
    if code is not None:
        error["code"] = code
    frame: dict[str, Any] = {
        "error": error,
        "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
    }
    if code is None:  # only the choice says so
        frame = {"choices": [{"index": 0, "delta": {}, "finish_reason": "error", "error": error}]}
    with pytest.raises(ProviderUnavailable) as caught:
        run(OpenRouterParser("or"), sse(frame))
    assert caught.value.upstream_status == status
    assert "Provider disconnected" in caught.value.message


def test_openrouter_raw_finish_reason_is_normalised() -> None:
    raw = sse({"choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": "end_turn"}]})
    assert run(OpenRouterParser("or"), raw)[0].finish_reason == "stop"


def test_openrouter_headers_and_options() -> None:
    provider = OpenRouterProvider(
        "or",
        config(
            "openrouter",
            options={"app_url": "https://app.test", "app_title": "App"},
            headers={"X-OpenRouter-Title": "Configured"},
        ),
    )
    headers = provider._client.headers
    assert str(provider._client.base_url).rstrip("/") == "https://openrouter.ai/api/v1"
    assert headers["HTTP-Referer"] == "https://app.test"
    assert headers["X-OpenRouter-Title"] == "Configured"  # the config's headers win
    assert headers["Authorization"] == f"Bearer {KEY}"
    body = provider.request_body(
        call(("user", "hi"), extra_body={"models": ["a/b", "c/d"], "provider": {"sort": "price"}})
    )
    assert (body["models"], body["provider"]) == (["a/b", "c/d"], {"sort": "price"})
    with pytest.raises(ValidationError):
        OpenRouterProvider("or", config("openrouter", options={"app_titel": "typo"}))


# --- Anthropic -----------------------------------------------------------------------------------

TOOL_USE = (  # provider-wire.md 5.3 (SDK fixture tool_use_response.txt), trimmed
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_019Q","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":377,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1,"service_tier":"standard"}}}\n\n'
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
    b'event: ping\ndata: {"type": "ping"}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I"}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\'ll check."}}\n\n'
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
    b'event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{}}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"location\\": \\"Paris\\"}"}}\n\n'
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}\n\n'
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":65}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)


@pytest.mark.parametrize("split", [0, 1, 13])
def test_anthropic_tool_use_stream(split: int) -> None:
    chunk, done = run(MessagesParser("an"), TOOL_USE, split)
    assert done and chunk.content == "I'll check."
    assert chunk.finish_reason == "tool_calls"
    assert chunk.usage is not None
    assert (chunk.usage.prompt_tokens, chunk.usage.completion_tokens) == (377, 65)


def test_anthropic_thinking_cumulative_usage_and_cache() -> None:
    start = {"type": "message_start", "message": {"usage": {"input_tokens": 5, "output_tokens": 1,
             "cache_read_input_tokens": 20, "cache_creation_input_tokens": 2}}}  # fmt: skip
    raw = sse(
        start,
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Let me"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQB"}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "27"}},
        {"type": "message_delta", "delta": {"stop_reason": None}, "usage": {"output_tokens": 10}},
        {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 15}},
        {"type": "message_stop"},
        event=True,
    )  # fmt: skip
    chunk, done = run(MessagesParser("an"), raw)
    assert done and (chunk.content, chunk.reasoning) == ("27", "Let me")
    assert chunk.finish_reason == "length"
    assert chunk.usage is not None
    assert chunk.usage.model_dump() == {
        "prompt_tokens": 27,  # input + cache read + cache creation
        "completion_tokens": 15,  # the last running total, not 10 + 15
        "total_tokens": 42,
        "cached_tokens": 20,
        "cache_write_5m_tokens": 2,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
        "estimated": False,
    }


def test_anthropic_stop_without_message_delta_still_reports_usage() -> None:
    raw = sse(
        {"type": "message_start", "message": {"usage": {"input_tokens": 4, "output_tokens": 1}}},
        {"type": "message_stop"},
        event=True,
    )
    chunk, done = run(MessagesParser("an"), raw)
    assert done and chunk.usage is not None and chunk.usage.prompt_tokens == 4


@pytest.mark.parametrize(
    ("error_type", "message", "expected"),
    [
        ("overloaded_error", "Overloaded", ProviderUnavailable),
        ("api_error", "Internal server error", ProviderUnavailable),
        ("rate_limit_error", "slow down", ProviderUnavailable),
        ("invalid_request_error", "messages: bad", ProviderRejected),
        (
            "invalid_request_error",
            "prompt is too long: 213462 tokens > 200000",
            ContextLengthExceeded,
        ),
        ("billing_error", "no money", ProviderQuotaExhausted),
    ],
)
def test_anthropic_error_event(
    error_type: str, message: str, expected: type[ProviderError]
) -> None:
    raw = b'event: error\ndata: {"type": "error", "error": {"type": "%s", "message": "%s"}}\n\n' % (
        error_type.encode(),
        message.encode(),
    )
    with pytest.raises(ProviderError) as caught:
        run(MessagesParser("an"), raw)
    assert type(caught.value) is expected


def test_anthropic_malformed_event_is_an_interrupted_stream() -> None:
    with pytest.raises(StreamInterrupted):
        run(MessagesParser("an"), b'event: content_block_delta\ndata: {"type":"cont\n\n')


def test_anthropic_request_body() -> None:
    provider = AnthropicProvider("an", config("anthropic", options={"default_max_tokens": 77}))
    body = provider.request_body(
        call(
            ("system", "be brief"),
            ("developer", "use French"),
            ("user", "hi"),
            ("assistant", "salut"),
            ("user", "again"),
            extra_body={"thinking": {"type": "enabled", "budget_tokens": 50}, "stream": False},
            temperature=0.5,
            top_p=0.9,
            stop="END",
            seed=3,
            presence_penalty=0.1,
        )
    )
    assert body == {
        "model": "m",
        "system": "be brief\n\nuse French",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "salut"},
            {"role": "user", "content": "again"},
        ],
        "max_tokens": 77,
        "stream": True,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop_sequences": ["END"],
        "thinking": {"type": "enabled", "budget_tokens": 50},
    }
    assert provider.request_body(call(("user", "x"), max_tokens=9))["max_tokens"] == 9
    assert "system" not in provider.request_body(call(("user", "x")))


def test_anthropic_headers() -> None:
    provider = build_provider("an", config("anthropic"))
    assert isinstance(provider, AnthropicProvider)
    headers = provider._client.headers
    assert headers["x-api-key"] == KEY and "authorization" not in headers
    assert headers["anthropic-version"] == "2023-06-01"
    assert str(provider._client.base_url) == "https://api.anthropic.com"


# --- HTTP status translation ---------------------------------------------------------------------


def status_error(status: int, body: object, headers: dict[str, str] | None = None) -> ProviderError:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return from_status("p", status, httpx.Headers(headers or {}), raw)


def anthropic_error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_1"}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (529, anthropic_error("overloaded_error", "Overloaded"), ProviderUnavailable),
        (500, anthropic_error("api_error", "Internal server error"), ProviderUnavailable),
        (400, anthropic_error("invalid_request_error", "prompt is too long: 2 > 1"), ContextLengthExceeded),
        (400, anthropic_error("invalid_request_error", "Your credit balance is too low to access"), ProviderQuotaExhausted),
        (402, anthropic_error("billing_error", "pay"), ProviderQuotaExhausted),
        (401, anthropic_error("authentication_error", "invalid x-api-key"), ProviderRejected),
        (413, b"<html>413 Request Entity Too Large</html>", ProviderRejected),
        (400, {"error": {"code": 400, "message": "This endpoint's maximum context length is 131072 tokens."}}, ContextLengthExceeded),
        (400, {"error": {"code": 400, "message": "too big", "metadata": {"error_type": "context_length_exceeded"}}}, ContextLengthExceeded),
        (402, {"error": {"code": 402, "message": "more credits"}, "user_id": "u"}, ProviderQuotaExhausted),
        (408, {"error": {"code": 408, "message": "Request timed out"}}, ProviderUnavailable),
        (429, {"error": {"code": 429, "message": "Rate limit exceeded"}}, ProviderUnavailable),
        (422, {"error": {"message": "Invalid Parameters", "type": "invalid_request_error", "code": "invalid_request_error"}}, ProviderRejected),
    ],
)  # fmt: skip
def test_status_translation(status: int, body: object, expected: type[ProviderError]) -> None:
    error = status_error(status, body)
    assert type(error) is expected
    assert error.upstream_status == status
    assert KEY not in error.message
