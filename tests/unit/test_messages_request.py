"""Anthropic Messages bodies into the gateway's ChatRequest: what is mapped, what only an
Anthropic route receives, how thinking becomes reasoning, and refusals naming Anthropic's field."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from shared.anthropic_format import Upstream, messages_request
from shared.anthropic_format.errors import error_body
from shared.content import ImagePart, TextPart
from shared.errors import GatewayError

OPENAI = Upstream(native=False, reasons=False)
REASONER = Upstream(native=False, reasons=True)
ANTHROPIC = Upstream(native=True, reasons=True)


def body(**fields: Any) -> dict[str, Any]:
    return {
        "model": "m",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
        **fields,
    }


def refusal(raw: dict[str, Any], *, counting: bool = False) -> dict[str, Any]:
    with pytest.raises(GatewayError) as raised:
        messages_request(raw, counting=counting)
    error: dict[str, Any] = error_body(raised.value)["error"]
    return error


def claude_code_body() -> dict[str, Any]:
    """The shape Claude Code 2.1.332 sends (captured), cut down."""
    return {
        "model": "claude-gw-sonnet",
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "<system-reminder>\nAttribution...\n</system-reminder>",
                    },
                    {"type": "text", "text": "say hello"},
                ],
            },
            {
                "role": "system",
                "content": [
                    {
                        "type": "text",
                        "text": "# Environment",
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
            },
        ],
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332.1c9;"},
            {
                "type": "text",
                "text": "You are a Claude agent.",
                "cache_control": {"type": "ephemeral", "ttl": "1h", "scope": "global"},
            },
        ],
        "tools": [
            {
                "name": "Bash",
                "description": "Executes a bash command. " * 500,  # 12,500 characters
                "input_schema": {
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "type": "object",
                    "properties": {"command": {"type": "string"}},
                    "required": ["command"],
                    "additionalProperties": False,
                },
            },
            {
                "name": "DeferredToolPlaceholder",
                "description": "x",
                "input_schema": {"type": "object", "properties": {}},
                "defer_loading": True,
            },
        ],
        "metadata": {"user_id": '{"device_id":"abc","account_uuid":"","session_id":"s"}'},
        "max_tokens": 32000,
        "thinking": {"type": "adaptive", "display": "omitted"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "high"},
        "stream": True,
    }


def test_claude_code_s_body_is_taken_whole() -> None:
    parsed = messages_request(claude_code_body())
    chat = parsed.chat
    assert parsed.stream
    assert [m.role for m in chat.messages] == ["system", "user", "system"]
    system = chat.messages[0].parts
    # The attribution block stays first and apart; the cache mark keeps its TTL.
    assert [p.text for p in system if isinstance(p, TextPart)] == [
        "x-anthropic-billing-header: cc_version=2.1.332.1c9;",
        "You are a Claude agent.",
    ]
    assert isinstance(system[1], TextPart) and system[1].cache_control is not None
    assert system[1].cache_control.ttl == "1h"
    assert chat.messages[1].text.endswith("say hello")
    assert chat.tools is not None and [t.function.name for t in chat.tools] == [
        "Bash",
        "DeferredToolPlaceholder",
    ]
    assert chat.user == '{"device_id":"abc","account_uuid":"","session_id":"s"}'
    assert (chat.max_tokens, chat.reasoning_effort, chat.extra_body) == (32000, None, None)


def test_anthropic_only_fields_reach_only_an_anthropic_route() -> None:
    parsed = messages_request(
        claude_code_body() | {"top_k": 5, "cache_control": {"type": "ephemeral"}}
    )
    native = parsed.for_upstream(ANTHROPIC)
    assert native.extra_body == {
        "top_k": 5,
        "thinking": {"type": "adaptive", "display": "omitted"},
        "output_config": {"effort": "high"},
        "cache_control": {"type": "ephemeral"},
    }
    assert native.reasoning_effort is None  # the thinking goes as it was sent
    assert parsed.signs_thinking(ANTHROPIC)
    other = parsed.for_upstream(OPENAI)
    assert (other.extra_body, other.reasoning_effort) == (None, None)
    assert not parsed.signs_thinking(OPENAI)


@pytest.mark.parametrize(
    ("fields", "upstream", "effort"),
    [
        ({"thinking": {"type": "enabled", "budget_tokens": 1024}}, OPENAI, "low"),
        ({"thinking": {"type": "enabled", "budget_tokens": 8192}}, OPENAI, "medium"),
        ({"thinking": {"type": "enabled", "budget_tokens": 16384}}, REASONER, "high"),
        ({"thinking": {"type": "enabled", "budget_tokens": 50000}}, REASONER, "xhigh"),
        (
            {
                "thinking": {"type": "enabled", "budget_tokens": 50000},
                "output_config": {"effort": "low"},
            },
            REASONER,
            "low",
        ),
        ({"thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}}, REASONER, "xhigh"),
        ({"thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}}, OPENAI, None),
        ({"thinking": {"type": "disabled"}}, REASONER, "none"),
        ({"thinking": {"type": "disabled"}}, OPENAI, None),
        ({"output_config": {"effort": "medium"}}, REASONER, "medium"),
        ({}, REASONER, None),
    ],
)
def test_thinking_becomes_reasoning_effort_asked_or_preferred(
    fields: dict[str, Any], upstream: Upstream, effort: str | None
) -> None:
    chat = messages_request(body(**fields)).for_upstream(upstream)
    assert chat.reasoning_effort == effort


def test_tool_results_become_tool_messages_and_their_images_follow() -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
    messages = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "", "signature": "SIG"},
                {"type": "redacted_thinking", "data": "OPAQUE"},
                {"type": "text", "text": "Looking."},
                {"type": "tool_use", "id": "toolu_1", "name": "w", "input": {"city": "Paris"}},
                {
                    "type": "tool_use",
                    "id": "toolu_2",
                    "name": "w",
                    "input": {},
                    "caller": {"type": "direct"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": "18C",
                    "is_error": False,
                },
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": [
                        {"type": "text", "text": "chart"},
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": png},
                        },
                    ],
                    "cache_control": {"type": "ephemeral"},
                },
                {"type": "text", "text": "thanks"},
            ],
        },
    ]
    chat = messages_request(body(messages=messages)).chat
    assert [m.role for m in chat.messages] == ["user", "assistant", "tool", "tool", "user"]
    assistant = chat.messages[1]
    assert assistant.tool_calls is not None
    assert [c.function.arguments for c in assistant.tool_calls] == ['{"city":"Paris"}', "{}"]
    details = assistant.reasoning_details or []
    assert [(d.type, d.signature, d.data) for d in details] == [
        ("reasoning.text", "SIG", None),
        ("reasoning.encrypted", None, "OPAQUE"),
    ]
    assert chat.messages[2].content == "18C"
    marked = chat.messages[3].parts[-1]
    assert isinstance(marked, TextPart) and marked.cache_control is not None
    follow_up = chat.messages[4].parts
    assert [type(p).__name__ for p in follow_up] == ["TextPart", "ImagePart", "TextPart"]
    assert isinstance(follow_up[1], ImagePart)
    assert follow_up[1].image_url.url.startswith("data:image/png;base64,")


def test_count_tokens_takes_a_body_without_max_tokens() -> None:
    raw = body()
    del raw["max_tokens"]
    assert messages_request(raw, counting=True).chat.max_tokens is None
    assert refusal(raw)["message"] == "max_tokens: Field required"


@pytest.mark.parametrize(
    ("raw", "code", "param"),
    [
        (body(top_kk=1), "unknown_parameter", "top_kk"),
        (
            body(messages=[{"role": "user", "content": [{"type": "text"}]}]),
            "invalid_request",
            "messages.0.content.0.text",
        ),
        (
            body(messages=[{"role": "user", "content": [{"type": "video"}]}]),
            "unsupported_content",
            "messages.0.content.0",
        ),
        (
            body(
                messages=[
                    {"role": "user", "content": "a"},
                    {"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "x"}]},
                ]
            ),
            "unsupported_content",
            "messages.1.content.0",
        ),
        (
            body(
                messages=[
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "nope"}]}
                ]
            ),
            "tool_call_unmatched",
            "messages.0.content.0",
        ),
        (
            body(tools=[{"name": "bad name", "input_schema": {"type": "object"}}]),
            "invalid_request",
            "tools.0.name",
        ),
        (
            body(tools=[{"type": "bash_20250124", "name": "bash"}]),
            "unsupported_parameter",
            "tools.0.type",
        ),
        (body(stop_sequences=["a"] * 5), "invalid_request", None),
        (body(metadata={"user_id": 5}), "invalid_request", "metadata.user_id"),
    ],
)
def test_refusals_name_the_anthropic_field(
    raw: dict[str, Any], code: str, param: str | None
) -> None:
    error = refusal(raw)
    assert (error["type"], error["code"], error.get("param")) == (
        "invalid_request_error",
        code,
        param,
    )


def test_a_long_user_id_goes_as_its_digest() -> None:
    chat = messages_request(body(metadata={"user_id": "u" * 300})).chat
    assert chat.user is not None and len(chat.user) == 64


def test_the_gateway_s_own_options_ride_in_the_body_or_headers() -> None:
    parsed = messages_request(
        body(fallback_models=["b"], cache={"no_store": True}), headers={"X-Gateway-Provider": "p"}
    )
    assert (parsed.chat.models, parsed.chat.provider) == (["b"], "p")
    assert parsed.chat.cache is not None and parsed.chat.cache.no_store
