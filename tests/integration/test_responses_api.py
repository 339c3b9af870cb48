"""OpenAI's Responses API at /v1/responses, through the official openai SDK, over the real
stack (gateway, worker, Redis, the fake provider)."""

from __future__ import annotations

import json
import time
from typing import Any

import openai
import pytest
from openai import OpenAI
from openai.types.responses import Response, ResponseReasoningItem
from pydantic import BaseModel

from tests.conftest import Stack
from tests.helpers import directive, expected_text, new_tag
from tests.openai_helpers import fresh_circuits, sdk
from tests.responses_helpers import (
    WEATHER_TOOL,
    call_output,
    check_stream_order,
    function_calls,
)
from tests.stack import create_api_key

__all__ = ["fresh_circuits", "sdk"]  # fixtures these tests use
pytestmark = pytest.mark.usefixtures("fresh_circuits")


def test_a_plain_response(sdk: OpenAI, stack: Stack) -> None:
    tag = new_tag()
    response = sdk.responses.create(
        model="fake",
        instructions="Be brief.",
        input=f"hello {directive(tokens=5, tag=tag)}",
        metadata={"run": "plain"},
    )
    assert response.id.startswith("resp_")
    assert response.status == "completed"
    assert response.output_text == expected_text(5)
    assert response.metadata == {"run": "plain"}
    usage = response.usage
    assert usage is not None and usage.output_tokens == 5
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.input_tokens_details.cached_tokens == 0
    assert usage.output_tokens_details.reasoning_tokens == 0
    sent = stack.fake.requests(tag)[-1]["body"]["messages"]
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert sent[1]["role"] == "user"


def test_a_streamed_response_in_order(sdk: OpenAI) -> None:
    stream = sdk.responses.create(
        model="fake", input=f"hi {directive(tokens=6, tag=new_tag())}", stream=True
    )
    events = list(stream)
    check_stream_order(events)
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == expected_text(6)
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.output_text == expected_text(6)
    assert completed.response.usage is not None and completed.response.usage.output_tokens == 6


def test_the_sdk_stream_helper_accumulates_text_and_calls(sdk: OpenAI) -> None:
    with sdk.responses.stream(
        model="fake",
        input=f"weather? {directive(tool_calls='auto', text_before_tools=3, chunk_chars=3)}",
        tools=[WEATHER_TOOL],
    ) as stream:
        final = stream.get_final_response()
    assert final.output_text == expected_text(3)
    calls = function_calls(final.output)
    assert [c.name for c in calls] == ["get_weather"]
    assert "city" in json.loads(calls[0].arguments)
    assert calls[0].call_id and calls[0].id and calls[0].id != calls[0].call_id


class Weather(BaseModel):
    city: str
    temperature: float


def test_structured_output_through_text_format(sdk: OpenAI, stack: Stack) -> None:
    tag = new_tag()
    parsed = sdk.responses.parse(
        model="fake", input=f"the weather as json {directive(tag=tag)}", text_format=Weather
    )
    assert isinstance(parsed.output_parsed, Weather)
    sent = stack.fake.requests(tag)[-1]["body"]["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["name"] == "Weather"
    assert sent["json_schema"]["strict"] is True


def test_function_calls_continued_with_previous_response_id(sdk: OpenAI, stack: Stack) -> None:
    tag = new_tag()
    first = sdk.responses.create(
        model="fake",
        input=f"weather in Paris {directive(tool_calls='auto', tag=tag)}",
        tools=[WEATHER_TOOL],
    )
    calls = function_calls(first.output)
    assert len(calls) == 1
    second = sdk.responses.create(
        model="fake",
        previous_response_id=first.id,
        input=[call_output(calls[0], "18C and sunny")],
        tools=[WEATHER_TOOL],
    )
    assert second.previous_response_id == first.id
    assert second.output_text and not function_calls(second.output)
    sent = stack.fake.requests(tag)[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert [c["id"] for c in sent[1]["tool_calls"]] == [calls[0].call_id]
    assert sent[2] == {"role": "tool", "tool_call_id": calls[0].call_id, "content": "18C and sunny"}


def test_function_calls_continued_by_resending_the_whole_input(sdk: OpenAI, stack: Stack) -> None:
    tag = new_tag()
    prompt: Any = {"role": "user", "content": f"weather {directive(tool_calls='auto', tag=tag)}"}
    first = sdk.responses.create(
        model="fake",
        input=[prompt],
        tools=[WEATHER_TOOL],
        store=False,
    )
    calls = function_calls(first.output)
    echoed: Any = [item.model_dump(exclude_none=True) for item in first.output]
    second = sdk.responses.create(
        model="fake",
        input=[prompt, *echoed, call_output(calls[0], "18C")],
        tools=[WEATHER_TOOL],
        store=False,
    )
    assert second.output_text
    sent = stack.fake.requests(tag)[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[1]["tool_calls"][0]["function"]["arguments"] == calls[0].arguments
    with pytest.raises(openai.NotFoundError):  # store: false keeps nothing
        sdk.responses.retrieve(first.id)


def test_retrieve_and_delete(sdk: OpenAI) -> None:
    created = sdk.responses.create(model="fake", input=f"x {directive(tokens=4)}")
    again = sdk.responses.retrieve(created.id)
    assert again.id == created.id
    assert again.output_text == expected_text(4)
    assert [item.id for item in again.output] == [item.id for item in created.output]
    assert again.usage == created.usage
    sdk.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError) as raised:
        sdk.responses.retrieve(created.id)
    assert raised.value.code == "response_not_found"
    with pytest.raises(openai.NotFoundError):
        sdk.responses.delete(created.id)
    with pytest.raises(openai.BadRequestError) as continued:
        sdk.responses.create(model="fake", input="more", previous_response_id=created.id)
    assert continued.value.code == "previous_response_not_found"


def test_another_keys_response_is_not_found(sdk: OpenAI, stack: Stack) -> None:
    mine = sdk.responses.create(model="fake", input=f"mine {directive(tokens=2)}")
    other_key = create_api_key(stack.base_url, "responses-other")
    with OpenAI(base_url=f"{stack.base_url}/v1", api_key=other_key, max_retries=0) as other:
        with pytest.raises(openai.NotFoundError):
            other.responses.retrieve(mine.id)
        with pytest.raises(openai.NotFoundError):
            other.responses.delete(mine.id)
        with pytest.raises(openai.BadRequestError) as raised:
            other.responses.create(model="fake", input="go on", previous_response_id=mine.id)
    assert raised.value.code == "previous_response_not_found"
    assert raised.value.param == "previous_response_id"
    assert sdk.responses.retrieve(mine.id).output_text == expected_text(2)  # still there


def test_a_background_response_is_read_and_replayed(sdk: OpenAI) -> None:
    created = sdk.responses.create(
        model="fake", input=f"later {directive(tokens=5, token_delay_ms=20)}", background=True
    )
    assert created.status in ("queued", "in_progress")
    finished = wait_until_finished(sdk, created.id)
    assert finished.status == "completed"
    assert finished.output_text == expected_text(5)
    everything = list(sdk.responses.retrieve(created.id, stream=True))
    check_stream_order(everything)
    rest = list(sdk.responses.retrieve(created.id, stream=True, starting_after=4))
    assert [e.sequence_number for e in rest] == list(range(5, len(everything)))
    assert [e.type for e in rest] == [e.type for e in everything[5:]]
    assert rest[-1].type == "response.completed"
    assert rest[-1].response.output_text == expected_text(5)


def test_a_background_stream_continues_with_previous_response_id(sdk: OpenAI) -> None:
    with sdk.responses.stream(
        model="fake", input=f"first {directive(tokens=3)}", background=True
    ) as stream:
        first = stream.get_final_response()
    assert first.output_text == expected_text(3)
    second = sdk.responses.create(model="fake", input="and then?", previous_response_id=first.id)
    assert second.status == "completed"


def test_an_error_before_the_first_token_is_an_http_error(sdk: OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as raised:
        sdk.responses.create(model="fake", input=f"x {directive(status=400)}", stream=True)
    assert raised.value.status_code == 502  # the provider refused it: no stream began
    assert raised.value.code == "provider_rejected"


def test_a_failure_after_the_first_token_is_response_failed(sdk: OpenAI) -> None:
    scenario = directive(tokens=8, fault="drop_after", fault_after=3)
    events = list(sdk.responses.create(model="fake", input=f"x {scenario}", stream=True))
    check_stream_order(events)
    failed = events[-1]
    assert failed.type == "response.failed"
    assert failed.response.status == "failed"
    assert (
        failed.response.error is not None
        and str(failed.response.error.code) == "stream_interrupted"
    )
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == expected_text(3) + " "


@pytest.mark.parametrize("store", [True, False])
def test_signed_reasoning_comes_back_through_reasoning_items(
    sdk: OpenAI, stack: Stack, store: bool
) -> None:
    # OpenRouter's fake Claude refuses a tool turn whose reasoning details are missing or
    # altered; with store: false only the item's encrypted_content can bring them back.
    tag = new_tag()
    prompt: Any = {"role": "user", "content": f"weather {directive(tool_calls='auto', tag=tag)}"}
    options: dict[str, Any] = {
        "tools": [WEATHER_TOOL],
        "store": store,
        "reasoning": {"effort": "high"},
        "include": [] if store else ["reasoning.encrypted_content"],
    }
    first = sdk.responses.create(model="or-model", input=[prompt], **options)
    reasoning = [item for item in first.output if isinstance(item, ResponseReasoningItem)]
    assert len(reasoning) == 1 and reasoning[0].content and reasoning[0].content[0].text
    assert (reasoning[0].encrypted_content is None) is store
    call = function_calls(first.output)[0]
    if store:
        more: dict[str, Any] = {
            "previous_response_id": first.id,
            "input": [call_output(call, "18C")],
        }
    else:
        echoed = [item.model_dump(exclude_none=True) for item in first.output]
        more = {"input": [prompt, *echoed, call_output(call, "18C")]}
    second = sdk.responses.create(model="or-model", **more, **options)
    assert second.status == "completed" and second.output_text
    echoed_turn = stack.fake.requests(tag)[-1]["body"]["messages"][1]
    assert echoed_turn["reasoning_details"][0]["signature"]  # the fake checked it is unchanged


def test_deepseek_thinking_gets_its_reasoning_back_from_the_item_content(
    sdk: OpenAI, stack: Stack
) -> None:
    # The fake DeepSeek refuses a thinking-mode tool loop without the reasoning_content.
    tag = new_tag()
    prompt: Any = {"role": "user", "content": f"weather {directive(tool_calls='auto', tag=tag)}"}
    tools: Any = [WEATHER_TOOL]
    first = sdk.responses.create(model="ds-thinking", input=[prompt], tools=tools, store=False)
    reasoning = [item for item in first.output if isinstance(item, ResponseReasoningItem)]
    assert reasoning and reasoning[0].content
    echoed: Any = [item.model_dump(exclude_none=True) for item in first.output]
    call = function_calls(first.output)[0]
    second = sdk.responses.create(
        model="ds-thinking",
        input=[prompt, *echoed, call_output(call, "18C")],
        tools=tools,
        store=False,
    )
    assert second.output_text
    sent = stack.fake.requests(tag)[-1]["body"]["messages"][1]
    assert sent["reasoning_content"] == reasoning[0].content[0].text


def wait_until_finished(sdk: OpenAI, response_id: str, timeout_s: float = 15) -> Response:
    deadline = time.monotonic() + timeout_s
    while True:
        response = sdk.responses.retrieve(response_id)
        if response.status not in ("queued", "in_progress"):
            return response
        assert time.monotonic() < deadline, f"{response_id} stayed {response.status}"
        time.sleep(0.05)


def test_a_quiet_provider_gets_keep_alive_comments(stack: Stack) -> None:
    # The stack's keep-alive interval is 0.5 s; the provider says nothing for 1.5 s.
    body = {"model": "fake", "input": f"x {directive(tokens=2, first_token_delay_ms=1500)}"}
    with (
        stack.client() as client,
        client.stream("POST", "/v1/responses", json={**body, "stream": True}) as response,
    ):
        assert response.status_code == 200
        raw = b"".join(response.iter_bytes())
    opening, _, rest = raw.partition(b"event: response.output_item.added")
    assert b"event: response.in_progress" in opening and b": keep-alive\n" in opening
    assert rest.count(b"event: response.completed") == 1 and b"[DONE]" not in rest


def test_a_background_response_is_cancelled(sdk: OpenAI) -> None:
    created = sdk.responses.create(
        model="fake", input=f"slow {directive(tokens=200, token_delay_ms=50)}", background=True
    )
    cancelled = sdk.responses.cancel(created.id)
    assert cancelled.status == "cancelled"
    assert wait_until_finished(sdk, created.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError):  # only background responses are cancelled
        sdk.responses.cancel(sdk.responses.create(model="fake", input="quick").id)


def test_a_cached_answer_is_a_response_that_can_be_read_and_replayed(sdk: OpenAI) -> None:
    text = f"cache me {directive(tokens=3, tag=new_tag())}"
    first = sdk.responses.create(model="cached", input=text)
    raw = sdk.responses.with_raw_response.create(model="cached", input=text)
    assert raw.headers["x-cache"] == "HIT"
    hit = raw.parse()
    assert hit.id != first.id and hit.output_text == first.output_text == expected_text(3)
    assert sdk.responses.retrieve(hit.id).output_text == expected_text(3)
    replay = list(sdk.responses.retrieve(hit.id, stream=True))  # no job: from its outcome
    check_stream_order(replay)
    assert replay[-1].type == "response.completed"
    assert replay[-1].response.output_text == expected_text(3)
