"""What the Anthropic end-to-end tests share: tools, and an agent's side of the loop with the
official ``openai`` SDK (sending a turn back, answering its calls, reading what the fake got)."""

from __future__ import annotations

import json
from typing import Any

from openai import OpenAI
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionFunctionToolParam,
    ChatCompletionMessage,
)

from tests.conftest import Stack

UPSTREAM = "claude-sonnet-4-20250514"
WEATHER: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
TIME: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}},
    },
}


def echo(message: ChatCompletionMessage) -> dict[str, Any]:
    """The assistant turn as an agent sends it back: what the SDK parsed, the gateway's extra
    fields (reasoning_content, reasoning_details) included. The stream accumulator leaves each
    call's ``index`` on it, which the gateway refuses as an unknown field: dropped here."""
    turn = message.model_dump(
        exclude_none=True, exclude={"refusal", "annotations", "audio", "function_call", "parsed"}
    )
    for call in turn.get("tool_calls", ()):
        call.pop("index", None)
    return turn


def results_for(message: ChatCompletionMessage) -> list[dict[str, Any]]:
    """A ``tool`` message answering each of the turn's calls."""
    return [
        {"role": "tool", "tool_call_id": call.id, "content": f"result of {call.function.name}"}
        for call in message.tool_calls or ()
        if call.type == "function"
    ]


def sent(stack: Stack, tag: str) -> list[dict[str, Any]]:
    """The bodies the fake received for ``tag``, oldest first, each answered 200."""
    records = stack.fake.requests(tag)
    assert all(r["status"] == 200 for r in records), [r["status"] for r in records]
    return [r["body"] for r in records]


def complete(sdk: OpenAI, streamed: bool, **request: Any) -> ChatCompletion:
    """One completion, whole or through the SDK's own stream accumulator."""
    if not streamed:
        completion: ChatCompletion = sdk.chat.completions.create(**request)
        return completion
    with sdk.chat.completions.stream(**request) as stream:
        return stream.get_final_completion()


def calls_of(completion: ChatCompletion) -> list[tuple[str, dict[str, Any]]]:
    """(name, parsed arguments) of each call: the arguments must be whole JSON."""
    return [
        (call.function.name, json.loads(call.function.arguments))
        for call in completion.choices[0].message.tool_calls or ()
        if call.type == "function"
    ]
