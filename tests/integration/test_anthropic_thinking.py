"""Anthropic's signed thinking across tool turns, end to end with the official ``openai`` SDK: the
gateway hands each turn's ``thinking`` and ``redacted_thinking`` out as ``reasoning_details``,
and the agent sends them back; the fake verifies every signature (a changed or missing one is
Anthropic's 400) and refuses thinking beside a forced tool, as the API does."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionMessage

from tests.anthropic_helpers import WEATHER, calls_of, complete, echo, results_for, sent
from tests.conftest import Stack
from tests.helpers import directive, expected_text, new_tag
from tests.openai_helpers import fresh_circuits, sdk

__all__ = ["fresh_circuits", "sdk"]  # fixtures these tests use
pytestmark = pytest.mark.usefixtures("fresh_circuits")


def test_a_forced_tool_on_a_thinking_route_turns_thinking_off(sdk: OpenAI, stack: Stack) -> None:
    """The API refuses thinking with a forced tool_choice; the forced call wins."""
    tag = new_tag()
    completion = sdk.chat.completions.create(
        model="claude-thinking",
        messages=[{"role": "user", "content": f"weather {directive(tag=tag)}"}],
        tools=[WEATHER],
        tool_choice="required",
    )
    assert [name for name, _ in calls_of(completion)] == ["get_weather"]
    body = sent(stack, tag)[0]
    assert (body["thinking"], body["tool_choice"]) == ({"type": "disabled"}, {"type": "any"})


def thinking_turn(sdk: OpenAI, streamed: bool, messages: list[Any]) -> ChatCompletionMessage:
    completion = complete(
        sdk, streamed, model="claude", messages=messages, tools=[WEATHER], reasoning_effort="low"
    )
    return completion.choices[0].message


@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
def test_thinking_and_tool_use_over_several_turns(
    sdk: OpenAI, stack: Stack, streamed: bool
) -> None:
    """Each turn's signed thinking and redacted thinking go back unchanged, first in their
    turn; the fake verifies every signature."""
    tag = new_tag()
    scenario = directive(tool_calls="auto", tool_rounds=2, redacted_thinking=True, tag=tag)
    messages: list[Any] = [{"role": "user", "content": f"plan a trip {scenario}"}]
    issued: list[list[dict[str, Any]]] = []
    for _ in range(2):
        message = thinking_turn(sdk, streamed, messages)
        assert message.tool_calls, "each of the two rounds calls a tool"
        details = (message.model_extra or {})["reasoning_details"]
        assert [d["type"] for d in details] == ["reasoning.text", "reasoning.encrypted"]
        assert details[0]["text"] == (message.model_extra or {})["reasoning_content"] != ""
        assert details[0]["signature"] and details[0]["format"] == "anthropic-claude-v1"
        issued.append(details)
        messages += [echo(message), *results_for(message)]
    final = thinking_turn(sdk, streamed, messages)
    assert final.content == expected_text(8) and not final.tool_calls

    bodies = sent(stack, tag)
    assert len(bodies) == 3 and bodies[0]["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assistant_turns = [m for m in bodies[-1]["messages"] if m["role"] == "assistant"]
    for turn, details in zip(assistant_turns, issued, strict=True):
        thinking, redacted = turn["content"][:2]
        assert thinking == {
            "type": "thinking",
            "thinking": details[0]["text"],
            "signature": details[0]["signature"],
        }
        assert redacted == {"type": "redacted_thinking", "data": details[1]["data"]}
        assert turn["content"][2]["type"] == "tool_use"


@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
def test_a_changed_or_missing_signature_is_anthropics_400(
    sdk: OpenAI, stack: Stack, streamed: bool
) -> None:
    tag = new_tag()
    scenario = directive(tool_calls="auto", tag=tag)
    messages: list[Any] = [{"role": "user", "content": f"weather {scenario}"}]
    message = thinking_turn(sdk, streamed, messages)

    def attempt(history: list[Any]) -> None:
        if not streamed:
            thinking_turn(sdk, False, history)
            return
        chunks = sdk.chat.completions.create(
            model="claude", messages=history, tools=[WEATHER], reasoning_effort="low", stream=True
        )
        list(chunks)

    turn = echo(message)
    forged = [dict(d) for d in turn["reasoning_details"]]
    forged[0]["signature"] = forged[0]["signature"][:-6] + "AAAAAA"
    dropped = {k: v for k, v in turn.items() if k != "reasoning_details"}
    for changed, says in ((forged, "Invalid `signature`"), (None, "Expected `thinking`")):
        sent_turn = {**dropped, "reasoning_details": changed} if changed else dropped
        history = [*messages, sent_turn, *results_for(message)]
        with pytest.raises(openai.InternalServerError) as refused:
            attempt(history)
        assert refused.value.code == "provider_rejected"
        assert says in refused.value.message
    assert [r["status"] for r in stack.fake.requests(tag)] == [200, 400, 400]


def test_omitted_thinking_still_goes_back_with_its_signature(sdk: OpenAI, stack: Stack) -> None:
    """``display: omitted`` signs an empty text: the block is not "empty", it must go back."""
    tag = new_tag()
    messages: list[Any] = [
        {"role": "user", "content": f"weather {directive(tool_calls='auto', tag=tag)}"}
    ]
    first = sdk.chat.completions.create(
        model="claude-thinking-omitted", messages=messages, tools=[WEATHER]
    )
    message = first.choices[0].message
    (detail,) = (message.model_extra or {})["reasoning_details"]
    assert detail["text"] == "" and detail["signature"]
    messages += [echo(message), *results_for(message)]
    final = sdk.chat.completions.create(
        model="claude-thinking-omitted", messages=messages, tools=[WEATHER]
    )
    assert final.choices[0].message.content == expected_text(8)
    assert sent(stack, tag)[-1]["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": "",
        "signature": detail["signature"],
    }
