"""Tool definitions and conversation history going in: the fake refuses what each provider
refuses, with that provider's error shape and wording."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.provider import FakeProvider
from tests.fakes.signing import sign_thinking
from tests.unit.fake_support import (
    ANTHROPIC_PATH,
    CHAT_PATHS,
    DEEPSEEK_PATH,
    KEY,
    OPENAI_PATH,
    OPENROUTER_PATH,
    anthropic_body,
    anthropic_tools,
    chat_body,
    data_chunks,
    directive,
    openai_tools,
    post,
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider(require_key=KEY) as provider:
        yield provider


def call(
    call_id: str, name: str = "get_weather", arguments: object = '{"city": "Oslo"}'
) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def loop(*tail: dict[str, Any], calls: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    assistant = {"role": "assistant", "content": None, "tool_calls": calls or [call("call_a")]}
    return [{"role": "user", "content": "weather?"}, assistant, *tail]


def send(
    fake: FakeProvider, fmt: str, messages: list[dict[str, Any]], **extra: Any
) -> httpx.Response:
    body = {"model": "m", "messages": messages, "tools": openai_tools()} | extra
    return post(fake, CHAT_PATHS[fmt], body)


def error_message(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    message: str = response.json()["error"]["message"]
    return message


# --- OpenAI family ---------------------------------------------------------------------------
def test_openai_tool_messages(fake: FakeProvider) -> None:
    ok = send(fake, "openai", loop({"role": "tool", "tool_call_id": "call_a", "content": "18C"}))
    assert ok.status_code == 200
    parts = [{"type": "text", "text": "18"}, {"type": "text", "text": "C"}]
    assert (
        send(
            fake, "openai", loop({"role": "tool", "tool_call_id": "call_a", "content": parts})
        ).status_code
        == 200
    )

    orphan = send(
        fake,
        "openai",
        [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "c", "content": "y"}],
    )
    assert orphan.json()["error"] == {
        "message": "Invalid parameter: messages with role 'tool' must be a response to a "
        "preceeding message with 'tool_calls'.",
        "type": "invalid_request_error",
        "param": "messages.[1].role",
        "code": None,
    }
    wrong = send(fake, "openai", loop({"role": "tool", "tool_call_id": "call_zz", "content": "x"}))
    assert error_message(wrong) == (
        "Invalid parameter: 'tool_call_id' of 'call_zz' not found in 'tool_calls' of previous "
        "message."
    )
    two = [call("call_a"), call("call_b", "get_time", "{}")]
    missing = send(
        fake,
        "openai",
        loop(
            {"role": "tool", "tool_call_id": "call_a", "content": "x"},
            {"role": "user", "content": "and?"},
            calls=two,
        ),
    )
    assert error_message(missing).endswith("did not have response messages: call_b")
    assert missing.json()["error"]["param"] == "messages.[1].role"
    image = [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]
    no_images = send(
        fake, "openai", loop({"role": "tool", "tool_call_id": "call_a", "content": image})
    )
    assert no_images.json()["error"]["param"] == "messages[2].content[0].type"
    as_object = send(
        fake,
        "openai",
        loop(
            {"role": "tool", "tool_call_id": "call_a", "content": "x"},
            calls=[call("call_a", arguments={"city": "Oslo"})],
        ),
    )
    assert as_object.json()["error"]["code"] == "invalid_type"


def test_deepseek_tool_message_texts(fake: FakeProvider) -> None:
    orphan = send(
        fake,
        "deepseek",
        [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "c", "content": "y"}],
    )
    assert orphan.json()["error"] == {
        "message": "Messages with role 'tool' must be a response to a preceding message with "
        "'tool_calls'",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_request_error",
    }
    missing = send(fake, "deepseek", loop({"role": "user", "content": "hm"}))
    assert error_message(missing).endswith(
        "(insufficient tool messages following tool_calls message)"
    )


def test_malformed_tools_per_format(fake: FakeProvider) -> None:
    nameless = [{"type": "function", "function": {"parameters": {"type": "object"}}}]
    body = chat_body("hi", tools=nameless)
    openai_error = post(fake, OPENAI_PATH, body).json()["error"]
    assert openai_error["message"] == "Missing required parameter: 'tools[0].function.name'."
    assert openai_error["code"] == "missing_required_parameter"
    deepseek_error = error_message(post(fake, DEEPSEEK_PATH, body))
    assert deepseek_error.startswith(
        "Failed to deserialize the JSON body into the target type: tools[0].function: "
        "missing field `name`"
    )
    router = post(fake, OPENROUTER_PATH, body)
    assert router.json()["error"]["code"] == 400
    bad_schema = [
        {
            "type": "function",
            "function": {
                "name": "f",
                "parameters": {"type": "object", "properties": {"x": {"type": "stringy"}}},
            },
        }
    ]
    schema_error = post(fake, OPENAI_PATH, chat_body("hi", tools=bad_schema)).json()["error"]
    assert schema_error["message"] == (
        "Invalid schema for function 'f': In context=('properties', 'x'), 'stringy' is not valid "
        "under any of the given schemas."
    )
    assert schema_error["code"] == "invalid_function_parameters"
    not_object = [{"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}]
    assert "got 'type: \"string\"'" in error_message(
        post(fake, OPENAI_PATH, chat_body("hi", tools=not_object))
    )
    strict = [
        {
            "type": "function",
            "function": {
                "name": "glob",
                "strict": True,
                "parameters": {
                    "type": "object",
                    "properties": {"p": {"type": "string"}},
                    "required": ["p"],
                },
            },
        }
    ]
    assert error_message(post(fake, OPENAI_PATH, chat_body("hi", tools=strict))) == (
        "Invalid schema for function 'glob': In context=(), 'additionalProperties' is required to "
        "be supplied and to be false."
    )
    assert post(fake, DEEPSEEK_PATH, chat_body("hi", tools=strict)).status_code == 200  # not /beta
    beta = post(fake, "/deepseek/beta/chat/completions", chat_body("hi", tools=strict))
    assert "additionalProperties" in error_message(beta)
    bad_name = [{"type": "function", "function": {"name": "Bash:12"}}]
    assert "does not match pattern" in error_message(
        post(fake, OPENAI_PATH, chat_body("hi", tools=bad_name))
    )
    anthropic_nameless = anthropic_body("hi", tools=[{"input_schema": {"type": "object"}}])
    assert (
        error_message(post(fake, ANTHROPIC_PATH, anthropic_nameless))
        == "tools.0.custom.name: Field required"
    )
    anthropic_bad = anthropic_body(
        "hi",
        tools=[{"name": "f", "input_schema": {"type": "object", "properties": {"x": {"type": 5}}}}],
    )
    assert error_message(post(fake, ANTHROPIC_PATH, anthropic_bad)).startswith(
        "tools.0.custom.input_schema: JSON schema is invalid. It must match JSON Schema "
        "draft 2020-12"
    )


def test_deepseek_thinking_rules(fake: FakeProvider) -> None:
    thinking = {"thinking": {"type": "enabled"}}
    tail = {"role": "tool", "tool_call_id": "call_a", "content": "18C"}
    lacking = send(fake, "deepseek", loop(tail), **thinking)
    assert error_message(lacking) == (
        "Missing reasoning_content field in the assistant message at message index 1. For more "
        "information, please refer to https://api-docs.deepseek.com/guides/thinking_mode#tool-calls"
    )
    echoed = loop(tail)
    echoed[1] = echoed[1] | {"content": "", "reasoning_content": "r1 r2"}
    assert send(fake, "deepseek", echoed, **thinking).status_code == 200
    assert send(fake, "deepseek", loop(tail)).status_code == 200  # thinking off: not needed
    old_turn = [
        *loop(tail),
        {"role": "assistant", "content": "done"},
        {"role": "user", "content": "next"},
    ]
    assert send(fake, "deepseek", old_turn, **thinking).status_code == 200  # a new question
    forced = send(
        fake,
        "deepseek",
        [{"role": "user", "content": "x"}],
        tool_choice="required",
        model="deepseek-reasoner",
    )
    assert forced.json() == {
        "error": {
            "message": "Thinking mode does not support this tool_choice",
            "type": "invalid_request_error",
        }
    }


def test_openrouter_reasoning_details_echo(fake: FakeProvider) -> None:
    """An Anthropic model on OpenRouter needs its signed reasoning_details back unmodified in a
    tool loop; the streamed pieces repeat type/format/index, and merged per index they verify."""
    model = "anthropic/claude-sonnet-4.5"
    body: dict[str, Any] = {
        "model": model,
        "stream": True,
        "reasoning": {"max_tokens": 64},
        "tools": openai_tools(),
        "messages": [{"role": "user", "content": directive(tool_calls="auto")}],
    }
    chunks = data_chunks(post(fake, OPENROUTER_PATH, body).content)
    pieces = [
        d
        for c in chunks
        if c["choices"]
        for d in c["choices"][0]["delta"].get("reasoning_details", [])
    ]
    assert all(p["format"] == "anthropic-claude-v1" and p["index"] == 0 for p in pieces)
    assert pieces[-1]["signature"] and not any(p.get("signature") for p in pieces[:-1])
    merged = {
        "type": "reasoning.text",
        "text": "".join(p["text"] for p in pieces),
        "signature": pieces[-1]["signature"],
        "format": "anthropic-claude-v1",
        "index": 0,
    }
    call_entry = next(
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks
        if c["choices"] and c["choices"][0]["delta"].get("tool_calls")
    )
    assistant = {
        "role": "assistant",
        "content": "",
        "tool_calls": [call(call_entry["id"])],
        "reasoning_details": [merged],
    }
    follow = body | {
        "stream": False,
        "messages": [
            *body["messages"],
            assistant,
            {"role": "tool", "tool_call_id": call_entry["id"], "content": "ok"},
        ],
    }
    assert post(fake, OPENROUTER_PATH, follow).status_code == 200
    naive = dict(merged, format="anthropic-claude-v1anthropic-claude-v1")
    follow["messages"][1] = assistant | {"reasoning_details": [naive]}
    refused = post(fake, OPENROUTER_PATH, follow)
    assert refused.json()["error"]["message"] == "Provider returned error"
    raw = json.loads(refused.json()["error"]["metadata"]["raw"])
    assert "cannot be modified" in raw["error"]["message"]
    follow["messages"][1] = assistant | {"reasoning_details": []}
    raw = json.loads(post(fake, OPENROUTER_PATH, follow).json()["error"]["metadata"]["raw"])
    assert (
        "Expected `thinking` or `redacted_thinking`, but found `tool_use`"
        in raw["error"]["message"]
    )


def test_openrouter_old_model_tool_cache_marker(fake: FakeProvider) -> None:
    tools = [openai_tools()[0] | {"cache_control": {"type": "ephemeral"}}]
    body = chat_body("hi", model="anthropic/claude-3-haiku", tools=tools)
    raw = json.loads(post(fake, OPENROUTER_PATH, body).json()["error"]["metadata"]["raw"])
    assert raw["error"]["message"] == "tools.0.cache_control: Extra inputs are not permitted"


# --- Anthropic -------------------------------------------------------------------------------
def tool_use(use_id: str = "toolu_01A") -> dict[str, Any]:
    return {"type": "tool_use", "id": use_id, "name": "get_weather", "input": {"city": "Oslo"}}


def result(use_id: str = "toolu_01A") -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": use_id, "content": "18C"}


def anthropic_send(
    fake: FakeProvider, messages: list[dict[str, Any]], **extra: Any
) -> httpx.Response:
    body = anthropic_body("x", tools=anthropic_tools(), **extra) | {"messages": messages}
    return post(fake, ANTHROPIC_PATH, body)


def test_anthropic_tool_result_rules(fake: FakeProvider) -> None:
    ask = {"role": "user", "content": "weather?"}
    ok = anthropic_send(
        fake,
        [
            ask,
            {"role": "assistant", "content": [tool_use()]},
            {"role": "user", "content": [result(), {"type": "text", "text": "thanks"}]},
        ],
    )
    assert ok.status_code == 200
    late = anthropic_send(
        fake,
        [
            ask,
            {"role": "assistant", "content": [tool_use()]},
            {"role": "user", "content": [{"type": "text", "text": "first"}, result()]},
        ],
    )
    assert error_message(late) == (
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: "
        "toolu_01A. Each `tool_use` block must have a corresponding `tool_result` block in the "
        "next message."
    )
    stray = anthropic_send(
        fake,
        [
            ask,
            {"role": "assistant", "content": "hm"},
            {"role": "user", "content": [result("toolu_01Z")]},
        ],
    )
    assert error_message(stray) == (
        "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_01Z. "
        "Each `tool_result` block must have a corresponding `tool_use` block in the previous "
        "message."
    )
    bad_id = anthropic_send(
        fake,
        [
            ask,
            {"role": "assistant", "content": [tool_use("Bash:12")]},
            {"role": "user", "content": [result("Bash:12")]},
        ],
    )
    assert (
        error_message(bad_id)
        == "messages.1.content.0.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'"
    )
    not_dict = dict(tool_use(), input="{}")
    assert error_message(
        anthropic_send(
            fake,
            [
                ask,
                {"role": "assistant", "content": [not_dict]},
                {"role": "user", "content": [result()]},
            ],
        )
    ) == ("messages.1.content.0.tool_use.input: Input should be a valid dictionary")
    empty = anthropic_send(
        fake,
        [
            ask,
            {"role": "assistant", "content": [{"type": "text", "text": ""}, tool_use()]},
            {"role": "user", "content": [result()]},
        ],
    )
    assert error_message(empty) == "messages: text content blocks must be non-empty"


def test_anthropic_combines_consecutive_turns(fake: FakeProvider) -> None:
    """The API combines consecutive same-role messages, so results split over two user
    messages still answer parallel calls."""
    ask = {"role": "user", "content": "weather?"}
    calls = {"role": "assistant", "content": [tool_use("toolu_01A"), tool_use("toolu_01B")]}
    split: list[dict[str, Any]] = [
        ask,
        calls,
        {"role": "user", "content": [result("toolu_01A")]},
        {"role": "user", "content": [result("toolu_01B")]},
    ]
    assert anthropic_send(fake, split).status_code == 200
    split[3] = {"role": "user", "content": [{"type": "text", "text": "hm"}, result("toolu_01B")]}
    assert "immediately after: toolu_01B." in error_message(anthropic_send(fake, split))


def test_anthropic_thinking_must_come_back(fake: FakeProvider) -> None:
    ask = {"role": "user", "content": "weather?"}
    thinking = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    signed = {"type": "thinking", "thinking": "r1 r2", "signature": sign_thinking("r1 r2")}

    def turn(*blocks: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            ask,
            {"role": "assistant", "content": [*blocks, tool_use()]},
            {"role": "user", "content": [result()]},
        ]

    assert anthropic_send(fake, turn(signed), **thinking).status_code == 200
    missing = anthropic_send(fake, turn(), **thinking)
    assert error_message(missing).startswith(
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
        "`tool_use`."
    )
    edited = anthropic_send(fake, turn(signed | {"thinking": "r1 r2 r3"}), **thinking)
    assert error_message(edited) == (
        "messages.1.content.0: `thinking` or `redacted_thinking` blocks in the latest assistant "
        "message cannot be modified. These blocks must remain as they were in the original "
        "response."
    )
    forged = anthropic_send(fake, turn(signed | {"signature": "EqQBCgIYAhforged"}), **thinking)
    assert error_message(forged) == "messages.1.content.0: Invalid `signature` in `thinking` block"
    unsigned = {"type": "thinking", "thinking": "r1"}
    assert error_message(anthropic_send(fake, turn(unsigned), **thinking)) == (
        "messages.1.content.0.thinking.signature: Field required"
    )
    redacted = {"type": "redacted_thinking", "data": "EmwKAhgBEgyTampered"}
    assert "cannot be modified" in error_message(
        anthropic_send(fake, turn(signed, redacted), **thinking)
    )
    assert anthropic_send(fake, turn()).status_code == 200  # thinking off: nothing required
