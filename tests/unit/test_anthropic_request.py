"""The Anthropic adapter's request translation (wire-tools §4.1-4.7): each body is compared
whole, and checked against the fake's copy of the API's rules (tests/fakes/anthropic_checks),
which answer with the 400 texts Anthropic gives."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr
from starlette.datastructures import Headers

from shared.chat import ChatRequest
from shared.config import ProviderConfig
from shared.errors import ProviderRejected
from tests.fakes.anthropic_checks import check_request
from tests.fakes.scenario import Scenario
from tests.fakes.signing import redacted_data, sign_thinking
from tests.unit.fake_support import PDF, b64, png
from workers.providers.anthropic import AnthropicProvider
from workers.providers.anthropic_messages import tool_use_id
from workers.providers.base import ProviderCall

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
TIME = {"type": "function", "function": {"name": "get_time"}}  # no parameters at all


def body(*messages: dict[str, Any], extra_body: dict[str, Any] | None = None, **opts: Any) -> Any:
    """The upstream body for these messages and options, with the provider's default 1000."""
    provider = AnthropicProvider(
        "an",
        ProviderConfig(
            kind="anthropic", api_key=SecretStr("k"), options={"default_max_tokens": 1000}
        ),
    )
    request = ChatRequest.model_validate({"messages": list(messages), **opts})
    return provider.request_body(
        ProviderCall(model="m", request=request, extra_body=extra_body or {})
    )


def accepted(sent: dict[str, Any]) -> bool:
    """The fake's Anthropic rules find nothing wrong (its 400 text is shown if they do)."""
    thinking = isinstance(sent.get("thinking"), dict) and sent["thinking"]["type"] == "enabled"
    problem = check_request(sent, Headers({}), Scenario(), thinking)
    assert problem is None, problem
    return True


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def calls(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": args}}
        for call_id, args in pairs
    ]


def test_an_agent_loop_history_becomes_alternating_turns() -> None:
    sent = body(
        {"role": "system", "content": [{"type": "text", "text": "be brief",
                                        "cache_control": {"type": "ephemeral", "ttl": "1h"}}]},
        user("weather in Paris and Rome?"),
        # OpenAI's shape: empty content beside the calls; ids of another provider's pattern.
        {"role": "assistant", "content": "", "tool_calls": calls(
            ("call:1|fc_2", '{"city": "Paris"}'), ("call_b", "{not json"), ("call_c", ""))},
        {"role": "tool", "tool_call_id": "call:1|fc_2", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_b",
         "content": [{"type": "text", "text": "rain", "cache_control": {"type": "ephemeral"}}]},
        {"role": "tool", "tool_call_id": "call_c", "content": ""},
        user("and tomorrow?"),
        tools=[WEATHER],
    )  # fmt: skip
    rewritten = tool_use_id("call:1|fc_2")
    assert sent["system"] == [
        {"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    ]
    assert sent["messages"] == [
        {"role": "user", "content": "weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": [  # no empty text block; input always an object
                {"type": "tool_use", "id": rewritten, "name": "get_weather",
                 "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_b", "name": "get_weather", "input": {}},
                {"type": "tool_use", "id": "call_c", "name": "get_weather", "input": {}},
            ],
        },
        {
            "role": "user",  # the three results in one turn, first; the user's text after
            "content": [
                {"type": "tool_result", "tool_use_id": rewritten, "content": "sunny"},
                {"type": "tool_result", "tool_use_id": "call_b",
                 "content": [{"type": "text", "text": "rain"}],
                 "cache_control": {"type": "ephemeral"}},
                {"type": "tool_result", "tool_use_id": "call_c"},
                {"type": "text", "text": "and tomorrow?"},
            ],
        },
    ]  # fmt: skip
    assert accepted(sent)


def test_tool_ids_are_rewritten_deterministically_and_apart() -> None:
    assert tool_use_id("toolu_01A9HHF5Ezy3oBrKmSgfASm9") == "toolu_01A9HHF5Ezy3oBrKmSgfASm9"
    assert tool_use_id("Bash:12") == tool_use_id("Bash:12")
    assert tool_use_id("Bash:12") != tool_use_id("Bash_12") == "Bash_12"
    assert tool_use_id("Bash:12").startswith("Bash_12_")


def test_adjacent_same_role_messages_merge_and_empty_ones_go() -> None:
    sent = body(
        {"role": "developer", "content": "use French"},
        user("one"),
        user([{"type": "text", "text": "two"}, {"type": "text", "text": ""}]),
        {"role": "assistant", "content": ""},  # an echoed refusal
        user("three"),
        {"role": "assistant", "content": "un"},
        {"role": "assistant", "content": "deux"},
        user("quatre"),
    )
    assert sent["system"] == "use French"
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": t} for t in ("one", "two", "three")]},
        {"role": "assistant", "content": [{"type": "text", "text": t} for t in ("un", "deux")]},
        {"role": "user", "content": "quatre"},
    ]
    assert accepted(sent)


def test_thinking_goes_back_first_unchanged_in_order_even_when_empty() -> None:
    shown, hidden, redacted = sign_thinking("Let me think"), sign_thinking(""), redacted_data()
    details = [
        {"type": "reasoning.text", "text": "Let me think", "signature": shown,
         "format": "anthropic-claude-v1", "index": 0},
        {"type": "reasoning.encrypted", "data": redacted, "format": "anthropic-claude-v1",
         "index": 1},
        {"type": "reasoning.text", "text": "", "signature": hidden, "index": 2},  # display omitted
        {"type": "reasoning.summary", "summary": "gpt's", "format": "openai-responses-v1"},
    ]  # fmt: skip
    sent = body(
        user("weather?"),
        {"role": "assistant", "content": "Checking.", "reasoning_details": details,
         "tool_calls": calls(("toolu_01X", '{"city": "Oslo"}'))},
        {"role": "tool", "tool_call_id": "toolu_01X", "content": "cold"},
        tools=[WEATHER],
        reasoning_effort="low",
    )  # fmt: skip
    assert sent["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "Let me think", "signature": shown},
        {"type": "redacted_thinking", "data": redacted},
        {"type": "thinking", "thinking": "", "signature": hidden},
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "toolu_01X", "name": "get_weather", "input": {"city": "Oslo"}},
    ]
    assert accepted(sent)  # the fake verifies each signature against its text


def test_a_thinking_detail_without_signature_is_sent_as_it_is_for_the_api_to_refuse() -> None:
    sent = body(
        user("q"),
        {"role": "assistant", "content": "a",
         "reasoning_details": [{"type": "reasoning.text", "text": "hm"}]},
        user("q2"),
    )  # fmt: skip
    assert sent["messages"][1]["content"][0] == {"type": "thinking", "thinking": "hm"}
    problem = check_request(sent, Headers({}), Scenario(), False)
    assert problem is not None and "thinking.signature: Field required" in problem.message


def test_images_and_pdfs_become_blocks() -> None:
    image, pdf = b64(png(3, 2)), b64(PDF)
    sent = body(
        user(
            [
                {"type": "text", "text": "compare"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}",
                                                    "detail": "high"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"},
                 "cache_control": {"type": "ephemeral"}},
                {"type": "file", "file": {"filename": "report.pdf",
                                          "file_data": f"data:application/pdf;base64,{pdf}"}},
                {"type": "file", "file": {"file_data": "https://example.com/f.pdf"}},
            ]
        )
    )  # fmt: skip
    assert sent["messages"][0]["content"] == [
        {"type": "text", "text": "compare"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": image}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"},
         "cache_control": {"type": "ephemeral"}},
        {"type": "document", "title": "report.pdf",
         "source": {"type": "base64", "media_type": "application/pdf", "data": pdf}},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/f.pdf"}},
    ]  # fmt: skip
    assert accepted(sent)


@pytest.mark.parametrize(
    ("part", "says"),
    [
        ({"type": "input_audio", "input_audio": {"data": b64(b"RIFF"), "format": "wav"}}, "audio"),
        ({"type": "file", "file": {"file_id": "file-abc"}}, "file_id"),
    ],
)
def test_what_anthropic_cannot_take_is_refused_before_the_call(
    part: dict[str, Any], says: str
) -> None:
    with pytest.raises(ProviderRejected) as refused:
        body(user([{"type": "text", "text": "listen"}, part]))
    assert says in refused.value.message and refused.value.retryable is False


def test_tools_take_anthropic_shape_with_their_marks() -> None:
    marked = {**TIME, "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    strict = {"type": "function", "function": {"name": "lookup", "strict": True,
              "parameters": {"properties": {"q": {"type": "string"}}}}}  # fmt: skip
    sent = body(user("hi"), tools=[WEATHER, marked, strict])
    assert sent["tools"] == [
        {"name": "get_weather", "description": "Weather in a city",
         "input_schema": WEATHER["function"]["parameters"]},  # type: ignore[index]
        {"name": "get_time", "input_schema": {"type": "object", "properties": {}},
         "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        {"name": "lookup", "strict": True,  # `type: object` spelled out, as the API wants
         "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}},
    ]  # fmt: skip
    assert "tool_choice" not in sent
    assert accepted(sent)


NAMED = {"type": "function", "function": {"name": "get_weather"}}


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("required", None, {"type": "any"}),
        (NAMED, None, {"type": "tool", "name": "get_weather"}),
        ("none", None, {"type": "none"}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        (NAMED, False, {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}),
        ("none", False, {"type": "none"}),
    ],
)
def test_tool_choice(choice: Any, parallel: bool | None, expected: dict[str, Any]) -> None:
    options: dict[str, Any] = {"tools": [WEATHER, TIME]}
    if choice is not None:
        options["tool_choice"] = choice
    if parallel is not None:
        options["parallel_tool_calls"] = parallel
    assert body(user("hi"), **options)["tool_choice"] == expected


def test_json_schema_goes_to_output_config_and_json_object_to_the_system() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}},
              "required": ["a"], "additionalProperties": False}  # fmt: skip
    fmt = {"type": "json_schema", "json_schema": {"name": "A", "strict": True, "schema": schema}}
    sent = body(
        user("give a"), response_format=fmt, extra_body={"output_config": {"effort": "low"}}
    )
    assert sent["output_config"] == {
        "effort": "low",  # the route's own output_config fields stay
        "format": {"type": "json_schema", "schema": schema},
    }
    assert "system" not in sent
    assert accepted(sent)

    plain = body({"role": "system", "content": "be terse"}, user("give a"),
                 response_format={"type": "json_object"})  # fmt: skip
    assert "output_config" not in plain
    assert plain["system"].startswith("be terse\n\n")
    assert "JSON object" in plain["system"]


@pytest.mark.parametrize(
    ("options", "thinking", "max_tokens"),
    [
        ({"reasoning_effort": "low"}, {"type": "enabled", "budget_tokens": 2048}, 3048),
        ({"reasoning_effort": "high"}, {"type": "enabled", "budget_tokens": 16384}, 17384),
        # The client's max_tokens caps thinking and answer together: the budget fits below it.
        ({"reasoning_effort": "high", "max_tokens": 5000},
         {"type": "enabled", "budget_tokens": 4999}, 5000),
        ({"reasoning_effort": "none"}, {"type": "disabled"}, 1000),
        # A forced tool cannot be combined with thinking: the forced call wins.
        ({"reasoning_effort": "high", "tools": [WEATHER], "tool_choice": "required"},
         {"type": "disabled"}, 1000),
    ],
)  # fmt: skip
def test_reasoning_effort_is_a_thinking_budget(
    options: dict[str, Any], thinking: dict[str, Any], max_tokens: int
) -> None:
    sent = body(user("why"), **options)
    assert (sent["thinking"], sent["max_tokens"]) == (thinking, max_tokens)
    assert accepted(sent)


def test_the_route_steps_thinking() -> None:
    route = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    sent = body(user("why"), extra_body=route)
    # The default 1000 would leave the budget no room (the API refuses budget >= max_tokens).
    assert (sent["thinking"], sent["max_tokens"]) == (route["thinking"], 2024)
    assert body(user("why"), extra_body=route, max_tokens=4000)["max_tokens"] == 4000
    effort = body(user("why"), extra_body=route, reasoning_effort="none")
    assert effort["thinking"] == {"type": "disabled"}  # the client's effort wins
    forced = body(user("why"), extra_body=route, tools=[WEATHER], tool_choice=NAMED)
    assert forced["thinking"] == {"type": "disabled"}
    assert accepted(forced)


def test_a_max_tokens_too_small_to_think_in_is_refused() -> None:
    with pytest.raises(ProviderRejected) as refused:
        body(user("why"), reasoning_effort="medium", max_tokens=1024)
    assert "1024" in refused.value.message


def test_sampling_options_stop_and_user() -> None:
    sent = body(user("x"), stop="END", user="u-1", temperature=0.2, seed=3,
                extra_body={"metadata": {"tag": "t"}, "top_k": 5})  # fmt: skip
    assert sent["stop_sequences"] == ["END"] and sent["temperature"] == 0.2
    assert sent["metadata"] == {"tag": "t", "user_id": "u-1"}
    assert sent["top_k"] == 5 and "seed" not in sent
