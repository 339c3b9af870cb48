"""The OpenAI-compatible chat API through the official ``openai`` SDK, end to end."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from tests.conftest import Stack
from tests.helpers import directive, expected_text, new_tag, wait_for_status
from tests.openai_helpers import fresh_circuits, sdk, user
from tests.stack import create_api_key

__all__ = ["fresh_circuits", "sdk"]  # fixtures these tests use
pytestmark = pytest.mark.usefixtures("fresh_circuits")


def scoped(model: str, **scenario: Any) -> str:
    """A fake-provider directive for one upstream model only."""
    return f"FAKE:{model}" + json.dumps(scenario)


def content_of(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_completion_parses_as_the_sdk_type(sdk: OpenAI) -> None:
    prompt = f"one two {directive(tokens=5)}"
    completion = sdk.chat.completions.create(model="fake", messages=user(prompt))

    assert isinstance(completion, ChatCompletion)
    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "fake"
    choice = completion.choices[0]
    assert (choice.index, choice.finish_reason) == (0, "stop")
    assert choice.message.role == "assistant"
    assert choice.message.content == expected_text(5)
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == len(prompt.split())
    assert completion.usage.completion_tokens == 5
    assert completion.usage.total_tokens == len(prompt.split()) + 5


def test_stream_has_role_first_content_and_finish_reason_last(sdk: OpenAI) -> None:
    stream = sdk.chat.completions.create(
        model="fake", messages=user(directive(tokens=20)), stream=True
    )
    chunks = list(stream)

    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert {c.model for c in chunks} == {"fake"}
    assert chunks[0].choices[0].delta.role == "assistant"
    assert content_of(chunks) == expected_text(20)
    assert [c.choices[0].finish_reason for c in chunks] == [None] * (len(chunks) - 1) + ["stop"]
    assert all(c.usage is None for c in chunks)


def test_stream_with_include_usage_ends_with_a_usage_chunk(sdk: OpenAI) -> None:
    prompt = f"a b c {directive(tokens=7)}"
    chunks = list(
        sdk.chat.completions.create(
            model="fake",
            messages=user(prompt),
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (len(prompt.split()), 7)
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert content_of(chunks) == expected_text(7)


def test_reasoning_arrives_as_reasoning_content(sdk: OpenAI) -> None:
    prompt = f"think {directive(tokens=3, reasoning_tokens=4)}"
    completion = sdk.chat.completions.create(model="fake", messages=user(prompt))
    message = completion.choices[0].message
    assert message.content == expected_text(3)
    assert getattr(message, "reasoning_content", None) == "r1 r2 r3 r4"
    assert completion.usage is not None
    assert completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens == 4

    chunks = list(sdk.chat.completions.create(model="fake", messages=user(prompt), stream=True))
    reasoning = "".join(
        getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks
    )
    assert reasoning == "r1 r2 r3 r4"
    assert content_of(chunks) == expected_text(3)


def test_models_list_and_retrieve(sdk: OpenAI) -> None:
    models = {model.id: model for model in sdk.models.list()}
    assert {"fake", "chain", "demo"} <= set(models)
    assert models["chain"].object == "model"
    assert models["chain"].owned_by == "fake"
    assert sdk.models.retrieve("fake").id == "fake"
    with pytest.raises(openai.NotFoundError) as raised:
        sdk.models.retrieve("no-such-model")
    assert raised.value.code == "model_not_found"


def test_models_are_those_the_key_may_use(stack: Stack) -> None:
    key = create_api_key(stack.base_url, "openai demo only", allowed_models=["demo"])
    with OpenAI(base_url=f"{stack.base_url}/v1", api_key=key, max_retries=0) as client:
        assert [model.id for model in client.models.list()] == ["demo"]
        with pytest.raises(openai.PermissionDeniedError):
            client.chat.completions.create(model="fake", messages=user("x"))


def test_gateway_extras_ride_in_extra_body_and_extra_headers(sdk: OpenAI, stack: Stack) -> None:
    tag = new_tag()
    prompt = f"{scoped('fake-c', status=503, tag=tag)} {scoped('fake-a', tag=tag)}"
    completion = sdk.chat.completions.create(
        model="guarded",
        messages=user(prompt),
        extra_body={"fallback_models": ["chain"], "provider": "fake", "timeout_s": 30},
    )
    assert completion.choices[0].message.content == expected_text(8)
    assert completion.model == "guarded"
    assert [r["model"] for r in stack.fake.requests(tag)] == ["fake-c", "fake-a"]

    tag = new_tag()
    completion = sdk.chat.completions.create(
        model="chain",
        # json_object needs the word json in the prompt (the fake holds OpenAI's rule); the
        # directive's json_output keeps the answer the text this test expects.
        messages=user(directive(tag=tag, tokens=2, json_output=expected_text(2))),
        extra_headers={"X-Gateway-Provider": "fake_backup"},
        extra_body={"extra_body": {"top_k": 3}, "response_format": {"type": "json_object"}},
    )
    assert completion.choices[0].message.content == expected_text(2)
    [upstream] = stack.fake.requests(tag)
    assert upstream["model"] == "fake-b"  # the chain's fake_backup step
    assert upstream["body"]["top_k"] == 3
    assert upstream["body"]["response_format"] == {"type": "json_object"}


def test_a_client_closing_the_stream_cancels_the_job(sdk: OpenAI, stack: Stack) -> None:
    tag = new_tag()
    stream = sdk.chat.completions.create(
        model="fake",
        messages=user(directive(tokens=300, token_delay_ms=30, tag=tag)),
        stream=True,
    )
    job_id = stream.response.headers["x-job-id"]
    seen = 0
    for chunk in stream:
        seen += bool(chunk.choices and chunk.choices[0].delta.content)
        if seen == 3:
            break
    stream.close()

    upstream = stack.fake.wait_for(tag, timeout=10)
    assert upstream["outcome"] == "client_closed"
    assert upstream["tokens_sent"] < 300
    with stack.client() as client:
        job = wait_for_status(client, job_id, {"cancelled", "succeeded", "failed"})
    assert job["status"] == "cancelled"


def test_rate_limit_headers_on_answers_and_refusals(stack: Stack) -> None:
    key = create_api_key(stack.base_url, "openai rpm", limits={"requests_per_minute": 2})
    with OpenAI(base_url=f"{stack.base_url}/v1", api_key=key, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="fake", messages=user(directive(tokens=1))
        )
        assert raw.headers["x-ratelimit-limit-requests"] == "2"
        assert raw.headers["x-job-id"]
        assert raw.parse().choices[0].message.content == "t1"
        with client.chat.completions.with_streaming_response.create(
            model="fake", messages=user(directive(tokens=1)), stream=True
        ) as streamed:
            assert streamed.headers["x-ratelimit-remaining-requests"] == "0"
        with pytest.raises(openai.RateLimitError) as raised:
            client.chat.completions.create(model="fake", messages=user("x"))
    refusal = raised.value
    assert refusal.code == "rate_limited"
    assert int(refusal.response.headers["retry-after"]) >= 1
    assert refusal.response.headers["x-ratelimit-limit-requests"] == "2"
    assert refusal.response.headers["x-should-retry"] == "true"


def test_the_response_cache_answers_repeats_streamed_or_not(sdk: OpenAI, stack: Stack) -> None:
    tag = new_tag()
    prompt = directive(tokens=4, tag=tag)
    ask = sdk.chat.completions.with_raw_response.create
    first = ask(model="fake", messages=user(prompt), temperature=0)
    again = ask(model="fake", messages=user(prompt), temperature=0)
    assert (first.headers["x-cache"], again.headers["x-cache"]) == ("MISS", "HIT")
    assert again.parse().choices[0].message.content == expected_text(4)
    assert again.parse().usage == first.parse().usage

    with sdk.chat.completions.with_streaming_response.create(
        model="fake", messages=user(prompt), temperature=0, stream=True
    ) as streamed:
        assert streamed.headers["x-cache"] == "HIT"
        chunks = list(streamed.parse())
    assert content_of(chunks) == expected_text(4)
    assert chunks[-1].choices[0].finish_reason == "stop"

    fresh = ask(
        model="fake",
        messages=user(prompt),
        temperature=0,
        extra_headers={"Cache-Control": "no-cache"},
        extra_body={"cache": {"no_store": True}},
    )
    assert fresh.headers["x-cache"] == "MISS"
    assert len(stack.fake.requests(tag)) == 2
