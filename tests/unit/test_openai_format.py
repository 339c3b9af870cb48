"""The pure OpenAI translation: requests in, completions, chunks and errors out, checked
against the official SDK's own types."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from shared.chat import ChatRequest
from shared.errors import InvalidRequest, ModelNotFound, RateLimited, Unauthorized
from shared.events import Event
from shared.jobs import Job, JobResult, JobStatus, Timings
from shared.openai_format import (
    ChunkStream,
    StreamMode,
    UnknownParameter,
    UnsupportedParameter,
    chat_completion_from_job,
    chat_request_from_openai,
    openai_error_body,
    openai_status,
    stream_mode_of,
)
from shared.usage import Usage


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields}


def param_of(error: pytest.ExceptionInfo[InvalidRequest]) -> Any:
    return openai_error_body(error.value)["error"]["param"]


def test_fields_are_mapped_and_nulls_are_absent() -> None:
    request = chat_request_from_openai(
        body(
            temperature=0.5,
            top_p=0.9,
            max_completion_tokens=100,
            stop=["x"],
            presence_penalty=0.1,
            frequency_penalty=0.2,
            seed=7,
            user="u1",
            store=True,
            metadata={"a": "b"},
            n=1,
            tools=[],
            tool_choice="none",
            logprobs=False,
            stream=True,
            stream_options={"include_usage": True},
            service_tier=None,
            response_format={"type": "json_object"},
            reasoning_effort="low",
            fallback_models=["b"],
            provider="p",
            cache={"no_store": True},
            timeout_s=30,
            extra_body={"top_k": 3},
        )
    )
    assert request.model == "m"
    assert request.sampling_options() == {
        "temperature": 0.5,
        "top_p": 0.9,
        "max_tokens": 100,
        "stop": ["x"],
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "seed": 7,
        "user": "u1",
    }
    assert (request.models, request.provider, request.timeout_s) == (["b"], "p", 30)
    assert request.cache is not None and request.cache.no_store
    assert request.extra_body == {
        "top_k": 3,
        "response_format": {"type": "json_object"},
        "reasoning_effort": "low",
    }


def test_text_parts_are_joined_and_roles_kept() -> None:
    request = chat_request_from_openai(
        body(
            messages=[
                {"role": "developer", "content": [{"type": "text", "text": "be brief"}]},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
                    "name": "ann",
                },
                {"role": "assistant", "content": None, "refusal": "no", "tool_calls": []},
            ]
        )
    )
    assert [(m.role, m.content, m.name) for m in request.messages] == [
        ("developer", "be brief", None),
        ("user", "one\ntwo", "ann"),
        ("assistant", "", None),
    ]


def test_max_tokens_under_either_name() -> None:
    assert chat_request_from_openai(body(max_tokens=5)).max_tokens == 5
    assert chat_request_from_openai(body(max_tokens=5, max_completion_tokens=5)).max_tokens == 5
    with pytest.raises(InvalidRequest) as both:
        chat_request_from_openai(body(max_tokens=5, max_completion_tokens=6))
    assert param_of(both) == "max_tokens"


@pytest.mark.parametrize(
    ("fields", "error", "param"),
    [
        ({"n": 2}, UnsupportedParameter, "n"),
        ({"n": True}, UnsupportedParameter, "n"),
        ({"logprobs": True}, UnsupportedParameter, "logprobs"),
        ({"tools": [{"type": "function"}]}, UnsupportedParameter, "tools"),
        ({"tool_choice": "auto"}, UnsupportedParameter, "tool_choice"),
        ({"functions": [{"name": "f"}]}, UnsupportedParameter, "functions"),
        ({"modalities": ["text", "audio"]}, UnsupportedParameter, "modalities"),
        ({"temprature": 1}, UnknownParameter, "temprature"),
        ({"temperature": 3}, InvalidRequest, "temperature"),
        ({"temperature": "hot"}, InvalidRequest, "temperature"),
        ({"max_completion_tokens": 0}, InvalidRequest, "max_completion_tokens"),
        ({"max_tokens": 0}, InvalidRequest, "max_tokens"),
        ({"stop": ""}, InvalidRequest, "stop"),
        ({"fallback_models": "b"}, InvalidRequest, "fallback_models"),
        ({"cache": {"no_cach": True}}, InvalidRequest, "cache.no_cach"),
        ({"extra_body": []}, InvalidRequest, "extra_body"),
        ({"messages": []}, InvalidRequest, "messages"),
        ({"messages": "hi"}, InvalidRequest, "messages"),
        ({"messages": ["hi"]}, InvalidRequest, "messages[0]"),
        ({"messages": [{"role": "bot", "content": "x"}]}, InvalidRequest, "messages[0].role"),
        ({"messages": [{"role": "user", "content": 1}]}, InvalidRequest, "messages[0].content"),
        ({"messages": [{"role": "user"}]}, InvalidRequest, "messages[0].content"),
        (
            {"messages": [{"role": "user", "content": "x", "colour": 1}]},
            UnknownParameter,
            "messages[0].colour",
        ),
        (
            {"messages": [{"role": "assistant", "content": "", "tool_calls": [{"id": "c"}]}]},
            UnsupportedParameter,
            "messages[0].tool_calls",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "look"},
                            {"type": "image_url", "image_url": {"url": "x"}},
                        ],
                    }
                ]
            },
            UnsupportedParameter,
            "messages[0].content[1].type",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": 3}]}]},
            InvalidRequest,
            "messages[0].content[0].text",
        ),
    ],
)
def test_bad_input_names_the_param(
    fields: dict[str, Any], error: type[InvalidRequest], param: str
) -> None:
    with pytest.raises(InvalidRequest) as raised:
        chat_request_from_openai(body(**fields))
    assert type(raised.value) is error
    assert param_of(raised) == param
    assert openai_status(raised.value) == 400


def test_tools_say_they_are_not_supported_yet() -> None:
    with pytest.raises(UnsupportedParameter, match="not supported by this gateway yet"):
        chat_request_from_openai(body(tools=[{"type": "function"}]))


def test_headers_fill_in_what_the_body_leaves_unset() -> None:
    headers = {"X-Gateway-Provider": "p", "X-Gateway-Fallback-Models": "a, b,"}
    request = chat_request_from_openai(body(), headers=headers)
    assert (request.provider, request.models) == ("p", ["a", "b"])
    request = chat_request_from_openai(body(provider="q"), headers=headers)
    assert (request.provider, request.models) == ("q", ["a", "b"])


def test_stream_mode() -> None:
    assert stream_mode_of(body()) == StreamMode()
    assert stream_mode_of(body(stream=False, stream_options={"include_usage": True})) == (
        StreamMode()
    )
    assert stream_mode_of(body(stream=True)) == StreamMode(stream=True)
    assert stream_mode_of(
        body(stream=True, stream_options={"include_usage": True, "include_obfuscation": False})
    ) == StreamMode(stream=True, include_usage=True)
    bad_modes: list[tuple[dict[str, Any], str]] = [
        ({"stream": "yes"}, "stream"),
        ({"stream": True, "stream_options": {"include_usage": 1}}, "stream_options.include_usage"),
    ]
    for bad, param in bad_modes:
        with pytest.raises(InvalidRequest) as raised:
            stream_mode_of(body(**bad))
        assert param_of(raised) == param


def job(**fields: Any) -> Job:
    defaults: dict[str, Any] = {
        "id": "abc",
        "owner": "k",
        "kind": "stream",
        "status": JobStatus.SUCCEEDED,
        "model": "smart",
        "provider": "p",
        "provider_model": "upstream-1",
        "request": ChatRequest.model_validate(body()),
        "timings": Timings(queued_at=1_700_000_000.5),
        "deadline_at": 1_700_000_600.0,
        "result": JobResult(content="Hello", finish_reason="length"),
        "usage": Usage(
            prompt_tokens=3,
            completion_tokens=5,
            total_tokens=8,
            cached_tokens=1,
            reasoning_tokens=2,
        ),
    }
    return Job(**{**defaults, **fields})


def test_a_job_as_a_chat_completion() -> None:
    completion = ChatCompletion.model_validate(chat_completion_from_job(job()), strict=True)
    assert (completion.id, completion.created, completion.model) == (
        "chatcmpl-abc",
        1_700_000_000,
        "smart",
    )
    assert completion.choices[0].message.content == "Hello"
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 8
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 1
    assert completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens == 2
    assert "reasoning_content" not in chat_completion_from_job(job())["choices"][0]["message"]

    thought = job(result=JobResult(content="x", reasoning="because"), usage=None)
    answer = chat_completion_from_job(thought)
    assert answer["choices"][0]["message"]["reasoning_content"] == "because"
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["usage"]["total_tokens"] == 0
    with pytest.raises(ValueError, match="no result"):
        chat_completion_from_job(job(result=None, status=JobStatus.FAILED))


def event(seq: int, kind: str, **fields: Any) -> Event:
    data = {"seq": seq, "type": kind, **fields}
    return Event(seq=seq, type=kind, data=data, raw=orjson.dumps(data))


USAGE = {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5, "estimated": False}
EVENTS = [
    event(1, "start", provider="a", model="a-1"),
    event(2, "fallback", provider="a", model="a-1", code="provider_unavailable"),
    event(3, "start", provider="b", model="b-1"),
    event(4, "delta", reasoning="hmm"),
    event(5, "delta", content="Hel"),
    event(6, "delta", content="lo"),
    event(7, "done", finish_reason="stop", provider="b", model="b-1", usage=USAGE, cost=None),
]


def all_chunks(stream: ChunkStream, events: list[Event]) -> list[dict[str, Any]]:
    return [chunk for e in events for chunk in stream.chunks(e)]


def test_events_as_chunks() -> None:
    chunks = all_chunks(ChunkStream(job_id="j", created=5, model="smart"), EVENTS)
    parsed = [ChatCompletionChunk.model_validate(c, strict=True) for c in chunks]
    assert {(c.id, c.created, c.model) for c in parsed} == {("chatcmpl-j", 5, "smart")}
    deltas = [c.choices[0].delta for c in parsed]
    assert [d.role for d in deltas] == ["assistant", None, None, None, None]
    assert [d.content for d in deltas] == ["", None, "Hel", "lo", None]
    assert chunks[1]["choices"][0]["delta"] == {"reasoning_content": "hmm"}
    assert [c.choices[0].finish_reason for c in parsed] == [None] * 4 + ["stop"]
    assert all("usage" not in c for c in chunks)


def test_include_usage_adds_a_last_chunk_without_choices() -> None:
    chunks = all_chunks(ChunkStream("j", 5, "smart", include_usage=True), EVENTS)
    assert [c["usage"] for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    last = ChatCompletionChunk.model_validate(chunks[-1], strict=True)
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (2, 3)


def test_a_failed_job_ends_with_an_error_chunk() -> None:
    stream = ChunkStream("j", 5, "smart")
    failure = event(
        3,
        "error",
        code="stream_interrupted",
        message="the provider dropped",
        retryable=True,
        delivered={"deltas": 1},
    )
    chunks = all_chunks(stream, [event(1, "start"), event(2, "delta", content="x"), failure])
    assert chunks[-1] == {
        "error": {
            "message": "the provider dropped",
            "type": "server_error",
            "param": None,
            "code": "stream_interrupted",
        }
    }


def test_error_bodies_follow_the_status() -> None:
    assert openai_error_body(Unauthorized("no"))["error"]["type"] == "authentication_error"
    assert openai_error_body(ModelNotFound("gone"))["error"] == {
        "message": "gone",
        "type": "not_found_error",
        "param": None,
        "code": "model_not_found",
    }
    assert openai_error_body(RateLimited("slow"))["error"]["type"] == "rate_limit_error"
    validation = InvalidRequest(
        "bad", details=[{"loc": ["body", "messages", 2, "content"], "msg": "x", "type": "y"}]
    )
    assert openai_status(validation) == 400
    assert openai_error_body(validation)["error"]["param"] == "messages[2].content"
    header = InvalidRequest("bad", details=[{"loc": ["header", "Cache-Control"], "msg": "x"}])
    assert openai_error_body(header)["error"]["param"] == "Cache-Control"
