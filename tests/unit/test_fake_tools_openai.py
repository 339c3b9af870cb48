"""Tool calls out of the fake in the Chat Completions dialects (OpenAI, DeepSeek, OpenRouter),
checked byte by byte and with the official openai SDK (its streaming helper accumulates them)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import (
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
    ChatCompletionMessageToolCallUnion,
    ChatCompletionToolParam,
)

from tests.fakes.provider import FakeProvider
from tests.unit.fake_support import (
    CHAT_PATHS,
    DEEPSEEK_PATH,
    KEY,
    OPENAI_PATH,
    OPENROUTER_PATH,
    chat_body,
    data_chunks,
    deltas,
    directive,
    openai_tools,
    post,
    tool_entries,
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider(require_key=KEY) as provider:
        yield provider


def sdk(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0, timeout=10)


def tools_param() -> list[ChatCompletionToolParam]:
    return openai_tools()  # type: ignore[return-value]  # plain dicts of the same shape


def ask(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


def function_calls(
    calls: list[ChatCompletionMessageToolCallUnion] | None,
) -> list[ChatCompletionMessageFunctionToolCall]:
    out = [c for c in calls or [] if isinstance(c, ChatCompletionMessageFunctionToolCall)]
    assert len(out) == len(calls or [])
    return out


def tools_body(text: str, *, stream: bool = True, **extra: Any) -> dict[str, Any]:
    return chat_body(text, stream=stream, tools=openai_tools(), **extra)


def test_canonical_stream_bytes(fake: FakeProvider) -> None:
    """§1.4: content null first, id/type/name + empty arguments on each call's first fragment,
    then argument-only fragments, finish on an empty delta, usage on its own last chunk."""
    text = "weather? " + directive(tool_calls="all", chunk_chars=5)
    body = tools_body(text, stream_options={"include_usage": True})
    raw = post(fake, OPENAI_PATH, body).content
    chunks = data_chunks(raw)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": None}
    entries = tool_entries(raw)
    assert all(len(e) == 1 for e in entries)  # one fragment per chunk
    first = [e[0] for e in entries if "id" in e[0]]
    assert [f["index"] for f in first] == [0, 1]
    assert [f["function"]["name"] for f in first] == ["get_weather", "get_time"]
    assert all(f["type"] == "function" and f["function"]["arguments"] == "" for f in first)
    assert all(re.fullmatch(r"call_[A-Za-z0-9]{24}", f["id"]) for f in first)
    later = [e[0] for e in entries if "id" not in e[0]]
    assert all(
        set(f) == {"index", "function"} and set(f["function"]) == {"arguments"} for f in later
    )
    indices = [e[0]["index"] for e in entries]
    assert indices == sorted(indices)  # sequential, never interleaved
    args = {0: "", 1: ""}
    for entry in entries:
        args[entry[0]["index"]] += entry[0]["function"]["arguments"]
    weather = json.loads(args[0])
    assert weather == {"city": "city", "units": "c", "days": 1}  # generated from the schema
    assert json.loads(args[1]) == {"tz": "tz"}
    finish = chunks[-2]["choices"][0]
    assert (finish["delta"], finish["finish_reason"]) == ({}, "tool_calls")
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == len(entries)  # one token per fragment


def test_sdk_stream_helper_and_non_stream(fake: FakeProvider) -> None:
    client = sdk(fake.openai_base_url)
    text = directive(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    with client.chat.completions.stream(model="m", messages=ask(text), tools=tools_param()) as s:
        for _event in s:
            pass
        final = s.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [(c.function.name, c.function.arguments) for c in calls] == [
        ("get_weather", '{"city": "Paris"}')
    ]
    whole = client.chat.completions.create(model="m", messages=ask(text), tools=tools_param())
    message = whole.choices[0].message
    assert message.content is None
    assert function_calls(message.tool_calls)[0].function.arguments == '{"city": "Paris"}'
    assert whole.choices[0].finish_reason == "tool_calls"


def test_two_turn_agent_loop(fake: FakeProvider) -> None:
    """The directive stays in the first user message; the turn after the tool results answers
    with text, so a loop ends without the test touching the prompt."""
    client = sdk(fake.openai_base_url)
    history: list[Any] = ask("plan " + directive(tool_calls="all", tokens=3, tag="loop"))
    first = client.chat.completions.create(model="m", messages=history, tools=tools_param())
    message = first.choices[0].message
    assert message.tool_calls is not None and len(message.tool_calls) == 2
    history.append(message.model_dump(exclude_none=True))
    history += [
        {"role": "tool", "tool_call_id": call.id, "content": "18C"} for call in message.tool_calls
    ]
    second = client.chat.completions.create(model="m", messages=history, tools=tools_param())
    assert second.choices[0].message.content == "t1 t2 t3"
    assert second.choices[0].finish_reason == "stop"
    assert [r["tag"] for r in fake.requests("loop")] == ["loop", "loop"]


def test_tool_rounds_and_directive_in_tool_result(fake: FakeProvider) -> None:
    client = sdk(fake.openai_base_url)
    history: list[Any] = ask(directive(tool_calls="auto", tool_rounds=2, tokens=1))
    for expected_calls in (True, True, False):
        answer = client.chat.completions.create(model="m", messages=history, tools=tools_param())
        message = answer.choices[0].message
        assert bool(message.tool_calls) is expected_calls
        if message.tool_calls:
            history.append(message.model_dump(exclude_none=True))
            call = message.tool_calls[0]
            history.append({"role": "tool", "tool_call_id": call.id, "content": "ok"})
    # A directive inside the tool result itself drives one more call.
    history.append({"role": "user", "content": "again " + directive(tool_calls="auto")})
    answer = client.chat.completions.create(model="m", messages=history, tools=tools_param())
    assert answer.choices[0].message.tool_calls
    history.append(answer.choices[0].message.model_dump(exclude_none=True))
    call_id = (answer.choices[0].message.tool_calls or [])[0].id
    result = "done " + directive(tool_calls=[{"name": "get_time"}])
    history.append({"role": "tool", "tool_call_id": call_id, "content": result})
    answer = client.chat.completions.create(model="m", messages=history, tools=tools_param())
    calls = function_calls(answer.choices[0].message.tool_calls)
    assert [c.function.name for c in calls] == ["get_time"]


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ("interleaved", [0, 1, 0, 1, 0, 1]),
        ("args_at_end", [0, 1, 0, 1]),
        ("whole", None),
        ("multi_fragment", [0, 0, 0, 1]),
    ],
)
def test_stream_layouts(fake: FakeProvider, layout: str, expected: list[int] | None) -> None:
    calls = [
        {"name": "get_weather", "arguments": {"city": "Oslo"}},
        {"name": "get_time", "arguments": {"tz": "CET"}},
    ]
    text = directive(tool_calls=calls, tool_stream=layout, chunk_chars=8)
    entries = tool_entries(post(fake, OPENAI_PATH, tools_body(text)).content)
    if layout == "whole":
        assert len(entries) == 1  # Ollama: every call complete in one chunk
        assert [e["function"]["arguments"] for e in entries[0]] == [
            '{"city": "Oslo"}',
            '{"tz": "CET"}',
        ]
        return
    flat = [e["index"] for chunk in entries for e in chunk]
    assert flat[: len(expected or [])] == expected
    if layout == "args_at_end":  # headers (empty arguments) first, whole arguments at the end
        assert [e[0]["function"]["arguments"] for e in entries] == [
            "",
            "",
            '{"city": "Oslo"}',
            '{"tz": "CET"}',
        ]
    if layout == "multi_fragment":
        assert max(len(chunk) for chunk in entries) == 2  # two fragments of one index


def test_quirks(fake: FakeProvider) -> None:
    calls = [{"name": "get_weather", "arguments": {"city": "Rome"}}]

    def entries(*quirks: str) -> list[dict[str, Any]]:
        text = directive(tool_calls=calls, tool_quirks=list(quirks), chunk_chars=6)
        raw = post(fake, OPENAI_PATH, tools_body(text)).content
        return [e for chunk in tool_entries(raw) for e in chunk]

    repeated = entries("repeat_id_name")
    assert len({e["id"] for e in repeated}) == 1 and all("name" in e["function"] for e in repeated)
    assert all(e["id"] == "" for e in entries("empty_id_name")[1:])
    assert entries("args_object")[0]["function"]["arguments"] == {"city": "Rome"}
    assert all("index" not in e for e in entries("no_index"))
    assert entries("start_index_1")[0]["index"] == 1
    assert "type" not in entries("no_type")[0]
    broken = "".join(e["function"]["arguments"] for e in entries("malformed_args"))
    assert broken == '{"city: "Rome"}'
    text = directive(tool_calls="all", tool_quirks=["all_index_0", "role_every_delta"])
    raw = post(fake, OPENAI_PATH, tools_body(text)).content
    assert {e["index"] for chunk in tool_entries(raw) for e in chunk} == {0}
    assert all(d.get("role") == "assistant" for d in deltas(raw))


def test_text_before_tools_and_length(fake: FakeProvider) -> None:
    text = directive(tool_calls="auto", text_before_tools=2)
    raw = post(fake, OPENAI_PATH, tools_body(text)).content
    ds = deltas(raw)
    assert ds[0] == {"role": "assistant", "content": "", "refusal": None}
    assert [d.get("content") for d in ds[1:3]] == ["t1 ", "t2"]
    assert "tool_calls" in ds[3]
    cut = directive(tool_calls=[{"name": "get_weather", "arguments": {"city": "Lima"}}])
    body = tools_body(cut[:-1] + ', "finish_reason": "length"}', stream=False)
    message = post(fake, OPENAI_PATH, body).json()["choices"][0]
    assert message["finish_reason"] == "length"
    assert message["message"]["tool_calls"][0]["function"]["arguments"] == '{"city":'
    forced_stop = tools_body(directive(tool_calls="auto", finish_reason="stop"))
    chunks = data_chunks(post(fake, OPENAI_PATH, forced_stop).content)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"  # calls that end with "stop"


def test_tool_choice(fake: FakeProvider) -> None:
    text = directive(tool_calls="all", tokens=2)
    none = post(fake, OPENAI_PATH, tools_body(text, stream=False, tool_choice="none")).json()
    assert none["choices"][0]["message"]["content"] == "t1 t2"
    named = {"type": "function", "function": {"name": "get_time"}}
    forced = post(fake, OPENAI_PATH, tools_body(text, stream=False, tool_choice=named)).json()
    calls = forced["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_time"]
    single = tools_body(text, stream=False, parallel_tool_calls=False)
    assert len(post(fake, OPENAI_PATH, single).json()["choices"][0]["message"]["tool_calls"]) == 1
    no_tools = post(fake, OPENAI_PATH, chat_body(directive(tool_calls="auto", tokens=1))).json()
    assert no_tools["choices"][0]["message"]["content"] == "t1"  # auto without tools: text


def test_deepseek_ids_and_usage_on_finish(fake: FakeProvider) -> None:
    """DeepSeek: ids call_00_..., usage rides on the finish chunk (no empty-choices chunk)."""
    raw = post(fake, DEEPSEEK_PATH, tools_body(directive(tool_calls="all"))).content
    chunks = data_chunks(raw)
    assert all(len(c["choices"]) == 1 for c in chunks)
    ids = [e[0]["id"] for e in tool_entries(raw) if "id" in e[0]]
    assert [i[:8] for i in ids] == ["call_00_", "call_01_"]
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "tool_calls"
    assert last["choices"][0]["delta"] == {"content": ""}
    assert last["usage"]["completion_tokens"] > 0
    whole = post(fake, DEEPSEEK_PATH, tools_body(directive(tool_calls="auto"), stream=False))
    call = whole.json()["choices"][0]["message"]["tool_calls"][0]
    assert call["index"] == 0 and call["id"].startswith("call_00_")
    streamed = list(
        sdk(fake.deepseek_base_url).chat.completions.create(
            model="deepseek-chat",
            messages=ask(directive(tool_calls="auto")),
            tools=tools_param(),
            stream=True,
        )
    )
    assert streamed[-1].usage is not None


def test_openrouter_role_repeat_and_provider_ids(fake: FakeProvider) -> None:
    body = tools_body(directive(tool_calls="auto"), model="anthropic/claude-sonnet-4.5")
    raw = post(fake, OPENROUTER_PATH, body).content
    assert all(d["role"] == "assistant" for d in deltas(raw))
    first = next(e[0] for e in tool_entries(raw) if "id" in e[0])
    assert first["id"].startswith("toolu_")  # ids pass through from Anthropic
    chunks = data_chunks(raw)
    finish = next(c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"])
    assert finish["choices"][0]["native_finish_reason"] == "tool_use"
    assert "usage" in chunks[-1]  # one frame after the finish chunk
    other = post(fake, OPENROUTER_PATH, tools_body(directive(tool_calls="auto"))).content
    assert next(e[0] for e in tool_entries(other) if "id" in e[0])["id"].startswith("call_")


@pytest.mark.parametrize("fmt", ["openai", "deepseek", "openrouter"])
def test_faults_count_tool_fragments(fake: FakeProvider, fmt: str) -> None:
    text = directive(tool_calls="auto", fault="drop_after", fault_after=2, tag=f"tf-{fmt}")
    with pytest.raises(httpx.RemoteProtocolError):
        post(fake, CHAT_PATHS[fmt], tools_body(text))
    record = fake.wait_for(f"tf-{fmt}")
    assert (record["outcome"], record["tokens_sent"]) == ("fault", 2)


def test_forced_tool_choice_calls_without_a_directive(fake: FakeProvider) -> None:
    required = post(fake, OPENAI_PATH, tools_body("hi", stream=False, tool_choice="required"))
    calls = required.json()["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_weather"]
    plain = post(fake, OPENAI_PATH, tools_body("hi", stream=False)).json()
    assert "tool_calls" not in plain["choices"][0]["message"]  # auto without a directive: text
