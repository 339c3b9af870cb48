"""Tool calling through the OpenAI-compatible API, with the official SDK, over each
OpenAI-family adapter (OpenAI-compatible, DeepSeek, OpenRouter) and the fake upstreams."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai import OpenAI

from tests.conftest import Stack
from tests.helpers import directive, new_tag
from tests.openai_helpers import fresh_circuits, sdk, user
from tests.tool_helpers import (
    STOCK,
    WEATHER,
    assistant_turn,
    calls_of,
    parsed_arguments,
    tool_results,
)

__all__ = ["fresh_circuits", "sdk"]  # fixtures these tests use
pytestmark = pytest.mark.usefixtures("fresh_circuits")

FAMILY = ["fake", "ds-chat", "or-model"]


def ask(tag: str, **scenario: Any) -> list[Any]:
    return user(f"weather and stocks please {directive(tag=tag, **scenario)}")


@pytest.mark.parametrize("model", FAMILY)
def test_a_two_turn_agent_loop_with_parallel_calls(sdk: OpenAI, stack: Stack, model: str) -> None:
    tag = new_tag()
    messages = ask(tag, tool_calls="all")
    first = sdk.chat.completions.create(model=model, messages=messages, tools=[WEATHER, STOCK])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = calls_of(choice.message)
    assert [c.function.name for c in calls] == ["get_weather", "get_stock_price"]
    assert {"city", "units"} <= set(parsed_arguments(calls)[0])
    assert len({c.id for c in calls}) == 2

    messages += [assistant_turn(choice.message), *tool_results(calls)]
    second = sdk.chat.completions.create(model=model, messages=messages, tools=[WEATHER, STOCK])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content
    assert not second.choices[0].message.tool_calls

    sent = stack.fake.requests(tag)[-1]["body"]
    answered = [m for m in sent["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in answered] == [c.id for c in calls]
    assert [c["id"] for c in sent["messages"][1]["tool_calls"]] == [c.id for c in calls]


@pytest.mark.parametrize("model", FAMILY)
def test_streamed_calls_accumulate_into_whole_arguments(sdk: OpenAI, model: str) -> None:
    tag = new_tag()
    with sdk.chat.completions.stream(
        model=model, messages=ask(tag, tool_calls="all", chunk_chars=3), tools=[WEATHER, STOCK]
    ) as stream:
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = calls_of(choice.message)
    assert [c.function.name for c in calls] == ["get_weather", "get_stock_price"]
    assert all(isinstance(args, dict) for args in parsed_arguments(calls))
    assert all(getattr(c.function, "parsed_arguments", None) for c in calls)  # strict: parsed


def test_chunks_carry_id_type_and_name_once_per_call_with_indices_from_zero(
    sdk: OpenAI,
) -> None:
    # An upstream that repeats ids and names and starts at index 1 (wire-tools §1.5 traps).
    tag = new_tag()
    stream = sdk.chat.completions.create(
        model="fake",
        messages=ask(tag, tool_calls="all", tool_quirks=["repeat_id_name", "start_index_1"]),
        tools=[WEATHER, STOCK],
        stream=True,
    )
    fragments = [
        call
        for chunk in stream
        if chunk.choices
        for call in chunk.choices[0].delta.tool_calls or ()
    ]
    headed = [f for f in fragments if f.id is not None]
    assert [f.index for f in headed] == [0, 1]
    assert [f.function.name for f in headed if f.function] == ["get_weather", "get_stock_price"]
    assert all(f.type == "function" for f in headed)
    assert all(f.function is None or f.function.name is None for f in fragments if f.id is None)
    for index in (0, 1):
        text = "".join(
            f.function.arguments or "" for f in fragments if f.index == index and f.function
        )
        assert isinstance(json.loads(text), dict)


def test_deepseek_thinking_tool_loop_sends_the_reasoning_back(sdk: OpenAI, stack: Stack) -> None:
    tag = new_tag()
    messages = ask(tag, tool_calls="auto")
    first = sdk.chat.completions.create(model="ds-thinking", messages=messages, tools=[WEATHER])
    message = first.choices[0].message
    reasoning = message.model_dump().get("reasoning_content")
    assert reasoning  # DeepSeek thought before it called
    messages += [assistant_turn(message), *tool_results(calls_of(message))]
    # The fake refuses a thinking-mode tool loop whose assistant turn lacks reasoning_content.
    second = sdk.chat.completions.create(model="ds-thinking", messages=messages, tools=[WEATHER])
    assert second.choices[0].message.content
    echoed = stack.fake.requests(tag)[-1]["body"]["messages"][1]
    assert echoed["reasoning_content"] == reasoning


def test_openrouter_reasoning_details_come_whole_and_go_back_unchanged(
    sdk: OpenAI, stack: Stack
) -> None:
    tag = new_tag()
    messages = ask(tag, tool_calls="auto")
    options: dict[str, Any] = {"tools": [WEATHER], "reasoning_effort": "high"}
    with sdk.chat.completions.stream(model="or-model", messages=messages, **options) as stream:
        final = stream.get_final_completion()
    message = final.choices[0].message
    details = message.model_dump().get("reasoning_details")
    assert details and details[0]["signature"]  # merged per index, not repeated pieces
    assert details[0]["format"] == "anthropic-claude-v1"
    messages += [assistant_turn(message), *tool_results(calls_of(message))]
    second = sdk.chat.completions.create(model="or-model", messages=messages, **options)
    assert second.choices[0].message.content
    echoed = stack.fake.requests(tag)[-1]["body"]["messages"][1]
    assert echoed["reasoning_details"] == details


def test_structured_output_follows_the_schema(sdk: OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "temperature": {"type": "number"}},
        "required": ["city", "temperature"],
        "additionalProperties": False,
    }
    completion = sdk.chat.completions.create(
        model="fake",
        messages=user("the weather as json"),
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "weather", "schema": schema, "strict": True},
        },
    )
    answer = json.loads(completion.choices[0].message.content or "")
    assert set(answer) == {"city", "temperature"}
