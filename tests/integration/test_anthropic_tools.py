"""Tools, images, documents, structured output and prompt caching through the whole stack to
Anthropic's Messages API: the official ``openai`` SDK → the gateway's /v1 → a Celery worker →
the Anthropic adapter → the fake provider, which checks every request as the API does
(tool_result placement, id pattern, cache breakpoint order...) and answers with Anthropic's own
400 texts when one is wrong. Thinking across tool turns: test_anthropic_thinking."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletion
from pydantic import BaseModel

from tests.anthropic_helpers import (
    TIME,
    UPSTREAM,
    WEATHER,
    calls_of,
    complete,
    echo,
    results_for,
    sent,
)
from tests.conftest import Stack
from tests.helpers import JOBS_URL, directive, expected_text, new_tag
from tests.openai_helpers import fresh_circuits, sdk
from tests.stack import PRICES
from tests.unit.fake_support import PDF, b64, png

__all__ = ["fresh_circuits", "sdk"]  # fixtures these tests use
pytestmark = pytest.mark.usefixtures("fresh_circuits")


@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
def test_two_turn_agent_loop(sdk: OpenAI, stack: Stack, streamed: bool) -> None:
    tag = new_tag()
    messages: list[Any] = [
        {"role": "user", "content": f"weather in Paris? {directive(tool_calls='auto', tag=tag)}"}
    ]
    first = complete(sdk, streamed, model="claude", messages=messages, tools=[WEATHER])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls or []
    assert call.id.startswith("toolu_01") and call.type == "function"
    assert calls_of(first) == [
        ("get_weather", {"city": json.loads(call.function.arguments)["city"]})
    ]

    messages += [echo(choice.message), *results_for(choice.message)]
    second = complete(sdk, streamed, model="claude", messages=messages, tools=[WEATHER])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == expected_text(8)
    assert not second.choices[0].message.tool_calls

    _, follow_up = sent(stack, tag)
    assert follow_up["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": call.id, "name": "get_weather",
                 "input": json.loads(call.function.arguments)}
            ],
        },
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call.id, "content": "result of get_weather"}
        ]},
    ]  # fmt: skip
    assert follow_up["tools"] == [
        {"name": "get_weather", "description": "Current weather in a city",
         "input_schema": WEATHER["function"].get("parameters")},
    ]  # fmt: skip


def test_parallel_calls_stream_as_openai_fragments_and_come_back_in_one_turn(
    sdk: OpenAI, stack: Stack
) -> None:
    tag = new_tag()
    prompt = f"both please {directive(tool_calls='all', text_before_tools=2, tag=tag)}"
    messages: list[Any] = [{"role": "user", "content": prompt}]
    chunks = list(
        sdk.chat.completions.create(
            model="claude", messages=messages, tools=[WEATHER, TIME], stream=True
        )
    )
    fragments = [
        fragment
        for chunk in chunks
        if chunk.choices
        for fragment in chunk.choices[0].delta.tool_calls or ()
    ]
    # The tools are Anthropic blocks 1 and 2 (text is block 0): calls 0 and 1 here, each with
    # its id, type and name once, on its first fragment.
    headers = [
        (f.index, f.type, f.function.name if f.function else None) for f in fragments if f.id
    ]
    assert headers == [(0, "function", "get_weather"), (1, "function", "get_time")]
    assert {f.index for f in fragments} == {0, 1}
    assert all(f.type is None and f.function and f.function.name is None
               for f in fragments if f.id is None)  # fmt: skip
    assert chunks[-1].choices[0].finish_reason == "tool_calls"

    with sdk.chat.completions.stream(
        model="claude", messages=messages, tools=[WEATHER, TIME]
    ) as stream:
        first = stream.get_final_completion()
    message = first.choices[0].message
    assert message.content == expected_text(2)
    assert [name for name, _ in calls_of(first)] == ["get_weather", "get_time"]

    messages += [echo(message), *results_for(message)]
    final = sdk.chat.completions.create(model="claude", messages=messages, tools=[WEATHER, TIME])
    assert final.choices[0].message.content == expected_text(8)
    turns = sent(stack, tag)[-1]["messages"]
    assert [b["type"] for b in turns[1]["content"]] == ["text", "tool_use", "tool_use"]
    assert [b["type"] for b in turns[2]["content"]] == ["tool_result", "tool_result"]


def test_parallel_tool_calls_false_and_a_forced_tool(sdk: OpenAI, stack: Stack) -> None:
    tag = new_tag()
    completion = sdk.chat.completions.create(
        model="claude",
        messages=[{"role": "user", "content": f"what time {directive(tag=tag)}"}],
        tools=[WEATHER, TIME],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
        parallel_tool_calls=False,
    )
    assert [name for name, _ in calls_of(completion)] == ["get_time"]
    assert sent(stack, tag)[0]["tool_choice"] == {
        "type": "tool",
        "name": "get_time",
        "disable_parallel_tool_use": True,
    }


def test_a_tool_call_cut_by_max_tokens_ends_cleanly_as_length(sdk: OpenAI) -> None:
    """Anthropic sends no content_block_stop for the cut tool block: the answer still ends."""
    prompt = f"weather {directive(tool_calls='auto', finish_reason='length')}"
    chunks = list(
        sdk.chat.completions.create(
            model="claude", messages=[{"role": "user", "content": prompt}], tools=[WEATHER],
            stream=True,
        )
    )  # fmt: skip
    assert chunks[-1].choices[0].finish_reason == "length"
    arguments = "".join(
        (fragment.function.arguments or "") if fragment.function else ""
        for chunk in chunks
        if chunk.choices
        for fragment in chunk.choices[0].delta.tool_calls or ()
    )
    assert arguments.startswith('{"city"')  # half of the call's arguments, as they came
    with pytest.raises(json.JSONDecodeError):
        json.loads(arguments)


def test_an_image_and_a_pdf_reach_anthropic_as_blocks(sdk: OpenAI, stack: Stack) -> None:
    tag = new_tag()
    image, pdf = b64(png(3, 2)), b64(PDF)
    completion = sdk.chat.completions.create(
        model="claude",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"describe both {directive(tokens=3, tag=tag)}"},
                    {"type": "image_url",
                     "image_url": {"url": f"data:image/png;base64,{image}", "detail": "low"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                    {"type": "file", "file": {"filename": "report.pdf",
                                              "file_data": f"data:application/pdf;base64,{pdf}"}},
                ],
            }
        ],
    )  # fmt: skip
    assert completion.choices[0].message.content == expected_text(3)
    record = stack.fake.wait_for(tag)
    assert [
        {k: part.get(k) for k in ("path", "type", "source", "media_type", "url", "title")}
        for part in record["parts"]
    ] == [
        {"path": "messages.0.content.1", "type": "image", "source": "base64",
         "media_type": "image/png", "url": None, "title": None},
        {"path": "messages.0.content.2", "type": "image", "source": "url",
         "media_type": None, "url": "https://example.com/cat.jpg", "title": None},
        {"path": "messages.0.content.3", "type": "document", "source": "base64",
         "media_type": "application/pdf", "url": None, "title": "report.pdf"},
    ]  # fmt: skip
    assert record["parts"][0]["size"] == [3, 2] and record["parts"][2]["bytes"] == len(PDF)
    blocks = record["body"]["messages"][0]["content"]
    assert "detail" not in json.dumps(blocks)  # Anthropic has no detail
    # 85 tokens per media part on the fake's count: it saw three.
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 3 * 85 + len(blocks[0]["text"].split())


class Trip(BaseModel):
    city: str
    days: int


def test_json_schema_reaches_anthropic_as_output_config(sdk: OpenAI, stack: Stack) -> None:
    tag = new_tag()
    completion = sdk.chat.completions.parse(
        model="claude",
        messages=[{"role": "user", "content": f"a trip {directive(tag=tag)}"}],
        response_format=Trip,
    )
    trip = completion.choices[0].message.parsed
    assert isinstance(trip, Trip)
    body = sent(stack, tag)[0]
    assert body["output_config"]["format"]["type"] == "json_schema"
    schema = body["output_config"]["format"]["schema"]
    assert set(schema["properties"]) == {"city", "days"}
    assert schema["additionalProperties"] is False
    assert set(body["output_config"]["format"]) == {"type", "schema"}  # no name, no strict


def test_cache_marks_with_ttl_reach_anthropic_and_writes_are_priced_by_ttl(
    sdk: OpenAI, stack: Stack
) -> None:
    tag = new_tag()
    hour = {"type": "ephemeral", "ttl": "1h"}
    # A fresh system text, so no earlier test has cached this prefix.
    system = f"You are the travel agent {uuid.uuid4().hex} of this test, answering briefly."
    tools: list[Any] = [{**WEATHER, "cache_control": hour}]
    messages: list[Any] = [
        {"role": "system", "content": [{"type": "text", "text": system, "cache_control": hour}]},
        {"role": "user", "content": [
            {"type": "text", "text": f"weather? {directive(tokens=4, tag=tag)}",
             "cache_control": {"type": "ephemeral", "ttl": "5m"}},
        ]},
    ]  # fmt: skip
    first = sdk.chat.completions.create(model="claude", messages=messages, tools=tools)
    second = sdk.chat.completions.create(model="claude", messages=messages, tools=tools)

    body = sent(stack, tag)[0]
    assert body["tools"][0]["cache_control"] == hour
    assert body["system"] == [{"type": "text", "text": system, "cache_control": hour}]
    assert body["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral", "ttl": "5m"}

    written, read = job_usage(stack, first), job_usage(stack, second)
    # First: the tools and the system written for an hour, the user's text for 5 minutes.
    assert written["usage"]["cache_write_1h_tokens"] > 0
    assert written["usage"]["cache_write_5m_tokens"] == len(
        messages[1]["content"][0]["text"].split()
    )
    assert written["usage"]["cached_tokens"] == 0
    # Second: the whole prompt read back.
    assert read["usage"]["cached_tokens"] == read["usage"]["prompt_tokens"]
    assert read["usage"]["cache_write_1h_tokens"] == read["usage"]["cache_write_5m_tokens"] == 0
    # OpenAI's usage has one count of writes, and the reads.
    details = first.usage.prompt_tokens_details if first.usage else None
    assert details is not None and details.cached_tokens == 0
    assert details.cache_write_tokens == (
        written["usage"]["cache_write_1h_tokens"] + written["usage"]["cache_write_5m_tokens"]
    )
    price = PRICES["anthropic"][UPSTREAM][0]
    for job in (written, read):
        usage = job["usage"]
        fresh = (
            usage["prompt_tokens"]
            - usage["cached_tokens"]
            - usage["cache_write_5m_tokens"]
            - usage["cache_write_1h_tokens"]
        )
        expected = (
            fresh * price["input_per_mtok"]
            + usage["cached_tokens"] * price["cached_input_per_mtok"]
            + usage["cache_write_5m_tokens"] * price["cache_write_5m_per_mtok"]
            + usage["cache_write_1h_tokens"] * price["cache_write_1h_per_mtok"]
            + usage["completion_tokens"] * price["output_per_mtok"]
        ) / 1_000_000
        assert job["cost"] == pytest.approx(expected)
    assert written["cost"] > read["cost"]


def job_usage(stack: Stack, completion: ChatCompletion) -> dict[str, Any]:
    """The job behind a completion (``chatcmpl-<job id>``): its usage and cost."""
    job_id = completion.id.removeprefix("chatcmpl-")
    with stack.client() as client:
        job: dict[str, Any] = client.get(f"{JOBS_URL}/{job_id}").json()
    return job
